"""``nuage contracts``: a customer's contract, its termination notice and bankruptcy (CTR-1..4).

nuage contracts show --customer cus_...
nuage contracts notice --customer cus_... --received-on 2026-03-10            # preview
nuage contracts notice --customer cus_... --received-on 2026-03-10 --confirm  # record, invoice
nuage contracts bankruptcy --customer cus_... --proof-on 2026-03-12
nuage contracts apply    # the notices that took effect stop their customers' service (daily)
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta
from typing import Annotated

import typer

from nuage.bootstrap import Platform
from nuage.cli.common import DatabaseUrl, DataDir, day_option, operator_session
from nuage.cli.recordings_job import purge_recordings_pass
from nuage.errors import NuageError
from nuage.services.billing import contract_reversals, contracts
from nuage.services.context import Context
from nuage.shared.clock import BUSINESS_TZ, business_date
from nuage.tenancy.model import PartyKind
from nuage.terms.contract import Contract, service_interrupted

contracts_app = typer.Typer(
    help="Contracts: notices, bankruptcies, their effect on service.", no_args_is_help=True
)

log = logging.getLogger(__name__)

Customer = Annotated[str, typer.Option("--customer", help="The customer's id.")]


def _show(contract: Contract, today: date) -> None:
    typer.echo(
        f"  contract {contract.contract_id} of {contract.customer_id} "
        f"(invoiced to {contract.contracting_party_id})"
    )
    typer.echo(
        f"  started {contract.start_on}, minimum term {contract.minimum_term_months} months "
        f"(until {contract.minimum_term_end_on}) (CTR-1)"
    )
    if contract.termination is not None:
        t = contract.termination
        typer.echo(
            f"  notice received {t.received_on}: service ends on {t.effective_on} "
            f"(last period {t.last_period}) (CTR-2)"
        )
    if contract.bankruptcy_proof_on is not None:
        typer.echo(
            f"  bankrupt: proof dated {contract.bankruptcy_proof_on}, service and billing stopped (CTR-4)"
        )
    typer.echo(f"  in service today: {'no' if service_interrupted(contract, today) else 'yes'}")


@contracts_app.command("show")
def show(customer: Customer, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """CTR-1..4: a customer's contract as it stands."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        state = contracts.contract_of(uow, ctx, customer)
        uow.commit()
        _show(state.contract, business_date(ctx.clock.now()))


@contracts_app.command("notice")
def notice(
    customer: Customer,
    received_on: Annotated[str, typer.Option(help="When the registered letter arrived (YYYY-MM-DD).")],
    requested_end_on: Annotated[str | None, typer.Option(help="A later end the customer asks for.")] = None,
    confirm: Annotated[
        bool, typer.Option(help="Record it (and invoice the balance); else only show it.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """CTR-2/CTR-3: preview a termination notice, or record it with --confirm."""
    received = day_option(received_on, "--received-on")
    requested = day_option(requested_end_on, "--requested-end-on")
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        outcome = contracts.give_notice(
            uow,
            ctx,
            customer,
            received,
            requested_end_on=requested,
            settings=platform.payments,
            validator=platform.einvoice_validator,
            confirm=confirm,
        )
        _show(outcome.contract, business_date(ctx.clock.now()))
    typer.echo(f"  early-termination balance (CTR-3): {outcome.balance} EUR before VAT")
    if outcome.balance_invoice is not None:
        typer.echo(f"  invoiced on {outcome.balance_invoice.issued.number}")
    typer.echo("notice recorded" if outcome.confirmed else "preview only: add --confirm to record the notice")


@contracts_app.command("bankruptcy")
def bankruptcy(
    customer: Customer,
    proof_on: Annotated[str, typer.Option(help="The date of the proof of bankruptcy (YYYY-MM-DD).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """CTR-4: on proof, the customer's service (but emergency calls) and billing stop."""
    proof = day_option(proof_on, "--proof-on")
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        contract = contracts.declare_bankruptcy(uow, ctx, customer, proof)
        _show(contract, business_date(ctx.clock.now()))


@contracts_app.command("apply")
def apply(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """CTR-2: customers whose notice took effect become terminated, then the recordings no longer
    held are deleted (CFG-9: past retention, or of a terminated account); `nuage serve` does it daily."""
    with operator_session(data_dir, database_url) as (platform, ctx):
        with platform.uow() as uow:
            ended = contracts.apply_terminations(uow, ctx)
        purged = purge_recordings_pass(platform)
    for customer_id in ended:
        typer.echo(f"  {customer_id}: terminated (CTR-2)")
    typer.echo(f"{len(ended)} contracts ended today")
    typer.echo(f"{purged} call recordings deleted (CFG-9)")


Reason = Annotated[str, typer.Option(help="Why (kept in the contract's audit trail).")]


@contracts_app.command("withdraw-notice")
def withdraw_notice(
    customer: Customer, reason: Reason, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """CTR-2: withdraw a notice before it takes effect (its CTR-3 balance invoice is credited)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        contract = contract_reversals.withdraw_notice(
            uow, ctx, customer, reason, validator=platform.einvoice_validator, settings=platform.payments
        )
        _show(contract, business_date(ctx.clock.now()))
        last = contracts.contract_history(uow, ctx, customer)[-1]
    typer.echo(f"notice withdrawn: {last.detail}")


@contracts_app.command("reverse-bankruptcy")
def reverse_bankruptcy(
    customer: Customer, reason: Reason, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """CTR-4: undo a bankruptcy recorded in error or reversed; service and billing resume today."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        contract = contract_reversals.reverse_bankruptcy(uow, ctx, customer, reason)
        _show(contract, business_date(ctx.clock.now()))


@contracts_app.command("history")
def history(customer: Customer, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """CTR-2/CTR-4: the contract's audit trail: notices, ends, bankruptcies, reversals."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        events = contracts.contract_history(uow, ctx, customer)
    for event in events:
        typer.echo(f"  {event.at:%Y-%m-%d %H:%M}  {event.action:<20} {event.detail}  (by {event.actor_id})")
    typer.echo(f"{len(events)} events")


async def daily_contract_job(platform: Platform) -> None:
    """CTR-2 in ``nuage serve``: at start, then each Brussels midnight, end the contracts whose notice
    took effect, then delete the recordings no longer held (CFG-9); a worker thread does the
    database work, the event loop never waits on it."""
    while True:
        try:
            ended = await asyncio.to_thread(_end_contracts, platform)
        except NuageError as error:  # the database away: tomorrow's pass (or a restart) catches up
            log.warning("contracts: the daily pass failed: %s", error)
        else:
            if ended:
                log.info("contracts: %d ended today (CTR-2): %s", len(ended), ", ".join(ended))
        try:  # CFG-9: then the recordings past their retention, or of an account that just ended
            await asyncio.to_thread(purge_recordings_pass, platform)
        except (NuageError, OSError) as error:
            log.warning("recordings: the daily pass failed: %s", error)
        now = platform.clock.now().astimezone(BUSINESS_TZ)
        midnight = datetime.combine(now.date() + timedelta(days=1), time(), BUSINESS_TZ)
        await asyncio.sleep((midnight - now).total_seconds() + 1)


def _end_contracts(platform: Platform) -> list[str]:
    with platform.uow() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        if operator is None:  # nothing to end before `nuage demo` or the operator's setup
            return []
        return contracts.apply_terminations(uow, Context.operator(operator.id, platform.clock))
