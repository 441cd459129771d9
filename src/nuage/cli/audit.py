"""``nuage audit``: the declaration audit of a customer and its regularisation (CNT-4).

nuage audit show --customer cus_...                                   # findings, regularised or not
nuage audit regularise --customer cus_... --finding excess_desk_phones:dev_...   # next invoice
nuage audit emergency [--customer cus_...]    # EMG-2: who would present a wrong place to 112
"""

from __future__ import annotations

from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, operator_session
from nuage.services import views
from nuage.services.billing import audit
from nuage.services.billing.audit import RegularisationRecord

audit_app = typer.Typer(
    help="Declaration audit: what declarations miss, and its regularisation.", no_args_is_help=True
)

Customer = Annotated[str, typer.Option("--customer", help="The customer's id.")]


def _line(record: RegularisationRecord) -> str:
    params = dict(record.line.description_params)
    where = f"invoiced in {record.invoiced_in}" if record.invoiced_in else "on the next invoice"
    return (
        f"regularised ({record.line.rule_id}): {params.get('users')} user x {params.get('months')} months "
        f"({params.get('from')}..{params.get('through')}) = {record.line.amount} EUR, {where}"
    )


@audit_app.command("show")
def show(customer: Customer, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """CNT-4: the users the configuration requires against those declared, each finding explained."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = audit.account_audit(uow, ctx, customer)
        report = found.audit
        typer.echo(
            f"{customer}: {report.declared_users} users declared, {report.required_users} required, "
            f"{report.missing_users} missing (CNT-4)"
        )
        for finding in report.shortfalls:
            typer.echo(f"  {finding.key} [{finding.rule_id}] {finding.reason}")
            done = found.regularisation_of(finding)
            if done is not None:
                typer.echo(f"    {_line(done)}")


@audit_app.command("regularise")
def regularise(
    customer: Customer,
    finding: Annotated[str, typer.Option(help="The finding's key, as `nuage audit show` prints it.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """CNT-4: invoice a finding's missing user for every month invoiced since the contract start."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        record = audit.regularise(uow, ctx, customer, finding[:200])
        typer.echo(f"{customer} {record.finding}: {_line(record)}")


@audit_app.command("emergency")
def emergency(
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """EMG-2: devices and trunks whose emergency caller ID would not give the caller's place."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = views.emergency_caller_id_findings(uow, ctx, customer)
        for account, finding in found:
            typer.echo(
                f"{account} {finding.item_kind} {finding.item_id} [{finding.rule_id}] {finding.message}"
            )
        typer.echo(f"{len(found)} device(s) or trunk(s) would present a wrong or unknown place (EMG-2)")
