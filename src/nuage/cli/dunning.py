"""``nuage dunning`` (PAY-1..4): the daily job, suspension, restoration, defaulting partners, PAY-2 charges.

After payments are imported (``nuage payments``)::

    nuage dunning run --on 2026-03-12                         # first reminder
    nuage dunning run --on 2026-04-11 --auto-suspend          # interest; suspension after the last
    nuage dunning suspend CUSTOMER / nuage dunning restore CUSTOMER

The policy comes from ``[payments]`` in ``nuage.toml`` (``Settings.payments``): ``reminder_days``
(e.g. [7, 14, 30]), ``reminder_fees``, ``interest_mode`` ("per-started-month", "pro-rata" or
"per-day"; a price plan may name its own), ``suspend_after_days``, ``auto_suspend``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Annotated

import typer

from nuage.adapters.smtp import SmtpMailer
from nuage.cli.common import DatabaseUrl, DataDir, address, day_option, operator_session
from nuage.services.payments import delivery, dunning, payments, suspension
from nuage.services.payments.status import dunning_status

dunning_app = typer.Typer(help="Dunning: reminders, interest, suspension (PAY-1..4).", no_args_is_help=True)


@dunning_app.command("run")
def dunning_run(
    on: Annotated[str | None, typer.Option(help="The day to run for (YYYY-MM-DD); default today.")] = None,
    smtp: Annotated[
        str | None, typer.Option("--smtp", help="Also e-mail the reminders via HOST:PORT.")
    ] = None,
    auto_suspend: Annotated[
        bool | None, typer.Option("--auto-suspend/--no-auto-suspend", help="Override the policy setting.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1/PAY-2/PAY-3: reminders and fees, interest, suspension after the last reminder, restoration."""
    day = day_option(on, "--on")
    target = address(smtp, "--smtp")
    with operator_session(data_dir, database_url) as (platform, ctx):
        settings = platform.payments
        if auto_suspend is not None:
            settings = replace(settings, policy=replace(settings.policy, auto_suspend=auto_suspend))
        with platform.uow() as uow:
            report = dunning.run_dunning(uow, ctx, settings, day)
            defaults = dunning.in_default(uow, ctx, settings, report.on)
            uow.commit()
        if target is not None and report.reminders:
            records = asyncio.run(delivery.deliver(report.reminders, SmtpMailer(*target), platform.clock.now))
            with platform.uow() as uow:
                delivery.record_deliveries(uow, records)
                uow.commit()
    for reminder in report.plan.reminders:
        typer.echo(
            f"  reminder {reminder.level} for {reminder.invoice_number}: {reminder.outstanding} EUR due, "
            f"fee {reminder.fee} (PAY-2)"
        )
    for charge in report.plan.interest:
        typer.echo(
            f"  interest {charge.amount} EUR on {charge.invoice_number} through {charge.through} (PAY-2)"
        )
    for party_id in report.suspended:
        typer.secho(f"  suspended {party_id} to minimum service (PAY-1/PAY-3)", fg=typer.colors.YELLOW)
    for party_id in report.restored:
        typer.echo(f"  restored {party_id} (PAY-1)")
    for party_id, numbers in defaults.items():
        typer.secho(
            f"  in default: {party_id} ({', '.join(numbers)}): `nuage dunning suspend {party_id}`",
            fg=typer.colors.YELLOW,
        )
    typer.echo(
        f"{report.on}: {len(report.plan.reminders)} reminders, {len(report.plan.interest)} interest charges, "
        f"{len(report.suspended)} suspended, {len(report.restored)} restored"
    )


@dunning_app.command("suspend")
def dunning_suspend(
    party: Annotated[
        str, typer.Argument(help="A direct customer, or a partner (PAY-4: with its customers).")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1/PAY-3: suspend to minimum service (emergency calls only); billing goes on."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        ledger = payments.current_ledger(uow, platform.payments)
        numbers = tuple(state.number for state in ledger.overdue(platform.clock.now().date(), party))
        changed = suspension.suspend(uow, ctx, party, numbers)
        uow.commit()
    for item in changed:
        typer.echo(f"  suspended {item.id} ({item.name}): {item.status_reason}")
    typer.echo(f"{len(changed)} parties suspended")


@dunning_app.command("restore")
def dunning_restore(
    party: Annotated[str, typer.Argument(help="The party suspended for non-payment.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1: restore full service (also done by `nuage dunning run` once the overdue invoices are paid)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        changed = suspension.restore(uow, ctx, party)
        uow.commit()
    typer.echo(f"{len(changed)} parties restored: {', '.join(item.id for item in changed) or '-'}")


@dunning_app.command("partner-default")
def partner_default(
    partner: Annotated[str, typer.Argument(help="The defaulting partner.")],
    move_to: Annotated[
        str | None, typer.Option(help="Move its customers to this partner id, or 'direct'.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-4: suspend a defaulting partner's final customers; optionally move them, configuration kept."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        suspended = suspension.suspend_partner_customers(uow, ctx, partner)
        moved = []
        if move_to is not None:
            new_partner = None if move_to == "direct" else move_to
            moved = suspension.move_partner_customers(uow, ctx, partner, new_partner)
        uow.commit()
    typer.echo(f"{len(suspended)} parties suspended; {len(moved)} customers moved to {move_to or '-'}")


@dunning_app.command("collection-costs")
def collection_costs(
    party: Annotated[str, typer.Argument(help="The contracting party.")],
    amount: Annotated[str, typer.Argument(help="Amount in EUR.")],
    note: Annotated[str, typer.Option(help="What the costs are.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-2: add collection costs to the party's next invoice."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        line = dunning.add_collection_costs(uow, ctx, party, Decimal(amount), note)
        uow.commit()
    typer.echo(f"collection costs {line.amount} EUR pending for {party} (PAY-2)")


@dunning_app.command("invoice-charges")
def invoice_charges(
    party: Annotated[str, typer.Argument(help="The contracting party.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-2: issue the pending interest, reminder fees and collection costs of a party now
    (without this, the party's next monthly invoice carries them)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        stored = dunning.invoice_charges(uow, ctx, party, platform.documents)
        uow.commit()
    if stored is None:
        typer.echo(f"nothing pending for {party}")
    else:
        typer.echo(
            f"{stored.issued.number}: {len(stored.issued.draft.lines)} PAY-2 lines, "
            f"{stored.issued.totals.gross} EUR"
        )


@dunning_app.command("status")
def dunning_status_command(
    party: Annotated[str, typer.Option("--party", help="The contracting party's id.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1/PAY-3: a party's overdue invoices, its reminders, a suspension, what restores service."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        status = dunning_status(uow, ctx, platform.payments, party)
    for invoice in status.overdue:
        last, following = "none", "none left"
        if invoice.last_reminder is not None:
            last = f"{invoice.last_reminder} on {invoice.last_reminder_on}"
        if invoice.next_reminder is not None:
            following = f"{invoice.next_reminder} on {invoice.next_reminder_on}"
        typer.echo(
            f"  {invoice.number}  due {invoice.due_on}  unpaid {invoice.outstanding:>9} EUR  "
            f"reminder sent: {last}; next: {following}"
        )
    typer.echo(status.explanation)
