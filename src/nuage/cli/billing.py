"""``nuage billing``: count, import and rate CDRs, run the month, list and show invoices.

The demo month, from an empty data directory::

    nuage demo
    nuage billing count --month 2026-01
    nuage billing demo-cdrs --out demo-cdrs.csv
    nuage billing import-cdrs demo-cdrs.csv
    nuage billing rate
    nuage billing run --period 2026-01
    nuage billing invoices
    nuage billing show INV-2026-000001
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session, write_file
from nuage.errors import NuageError
from nuage.rating.csv_import import decoded_lines
from nuage.services.billing import (
    cdr_import,
    counting,
    issuing,
    order_fees,
    queries,
    rating,
    summaries,
)
from nuage.services.billing.demo import demo_cdr_csv
from nuage.services.billing.render import render_invoice_text
from nuage.services.support import billing_run
from nuage.shared.collector import collector_paused
from nuage.shared.month import Month
from nuage.shared.switching import switch_often
from nuage.terms.counting import MonthlySummary

billing_app = typer.Typer(
    help="Billing: counts, CDRs, rating, monthly runs and invoices.", no_args_is_help=True
)

MonthOption = Annotated[str, typer.Option(help="The month, YYYY-MM.")]


def _month(text: str, option: str) -> Month:
    try:
        return Month.parse(text)
    except NuageError as exc:
        raise fail(f"{option}: {exc}") from exc


def _items(summary: MonthlySummary) -> str:
    counted = [f"{kind.value}={quantity.normalize()}" for kind, quantity in summary.items if quantity]
    return ", ".join(counted) or "nothing counted"


@billing_app.command("count")
def count(month: MonthOption, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """CNT-1: freeze the month-end summary of every customer (hash-chained; never changed afterwards)."""
    period = _month(month, "--month")
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        report = counting.freeze_month(uow, ctx, period)
        for summary in report.frozen:
            typer.echo(f"  {summary.account_id}  {_items(summary)}  hash {summary.hash[:16]}")
    typer.echo(
        f"{period}: {len(report.frozen)} summaries frozen, {len(report.already_frozen)} already frozen, "
        f"{len(report.not_started)} not in service"
    )
    for account_id, reason in report.refused.items():
        typer.secho(f"  refused {account_id}: {reason}", fg=typer.colors.YELLOW)


@billing_app.command("demo-cdrs")
def demo_cdrs(
    out: Annotated[Path, typer.Option("--out", help="Where to write the CSV.")] = Path("demo-cdrs.csv"),
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SIP-1: write the demo month's CDRs (for the demo customers) as a CSV to import."""
    with operator_session(data_dir, database_url) as (platform, _ctx), platform.uow() as uow:
        text = demo_cdr_csv(uow)
    write_file(out, text.encode("utf-8"))
    typer.echo(f"wrote {len(text.splitlines()) - 1} CDRs to {out}")


@billing_app.command("import-cdrs")
def import_cdrs(
    file: Annotated[
        Path, typer.Argument(help="CSV: cdr_id,account_id,started_at,destination,billable_seconds")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SIP-1: import CDRs from a CSV file; bad rows reported, good rows kept; re-importing adds nothing.

    Exits 1 when any row was refused (the good rows are kept), so a script sees the failure.
    """
    if not file.is_file():
        raise fail(f"no such file: {file}")
    with (
        operator_session(data_dir, database_url) as (platform, ctx),
        platform.uow() as uow,
        file.open("rb") as raw,
    ):
        report = cdr_import.import_cdrs(uow, ctx, decoded_lines(raw))  # not UTF-8: one line naming the row
    for error in report.errors[:50]:
        where = f"row {error.row}" if error.row else "row"
        typer.secho(f"  {where} {error.field}: {error.message}", fg=typer.colors.YELLOW)
    if len(report.errors) > 50:
        typer.echo(f"  ... and {len(report.errors) - 50} more errors")
    typer.echo(
        f"imported {report.imported} CDRs, {report.already_imported} already imported, "
        + (f"{report.changed} changed since imported (not applied), " if report.changed else "")
        + f"{len(report.errors)} errors"
    )
    if report.errors:
        typer.secho(
            f"{len(report.errors)} rows were refused and not imported: correct them and import the file "
            "again (the rows already imported are skipped)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


@billing_app.command("rate")
def rate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """RAT-1..3: rate every pending CDR (customer retail, and partner wholesale where a partner serves)."""
    # a bulk job of millions of acyclic tuples: the cyclic collector only costs time (this process
    # only); its reading and writing threads take the interpreter lock back sooner (switch_often)
    with operator_session(data_dir, database_url) as (platform, ctx), collector_paused(), switch_often():
        report = rating.rate_pending(platform.uow, ctx)
    for cdr_id, run, reason in report.failures[:20]:
        typer.secho(f"  not rated {cdr_id} ({run}): {reason}", fg=typer.colors.YELLOW)
    stored = ", ".join(f"{run}: {count}" for run, count in sorted(report.stored.items())) or "nothing new"
    typer.echo(
        f"rated {report.cdrs_seen} pending CDRs ({stored}); {report.failure_count} could not be priced"
    )


@billing_app.command("run")
def run(
    period: Annotated[str, typer.Option(help="The period P, YYYY-MM: bills P's traffic and P+1's services.")],
    run_on: Annotated[
        str | None,
        typer.Option(
            help="Issue date (YYYY-MM-DD); default today; from 3 days before P's run day (the 28th)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the invoices the run would issue; issue nothing.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-2/BIL-3/BIL-9: the month's billing run; running it again issues nothing new.

    Refused when the period has not closed, or when the issue date is in the future, before the
    period's end or before the last invoice issued (BIL-2, BIL-4).
    """
    month = _month(period, "--period")
    try:
        issue_on = None if run_on is None else date.fromisoformat(run_on)
    except ValueError as exc:
        raise fail(f"--run-on: {exc}") from exc
    # BIL-10 sources and rated calls by the million, none in a cycle: the collector waits (this process)
    with operator_session(data_dir, database_url) as (platform, ctx), collector_paused():
        report = billing_run.run_billing(  # BIL-8: Telavox lines first
            platform.uow,
            ctx,
            month,
            validator=platform.einvoice_validator,
            run_on=issue_on,
            settings=platform.payments,
            dry_run=dry_run,
        )
    if dry_run:
        for draft in report.drafts:
            typer.echo(
                f"  would issue  {draft.invoiced_party_id}  {draft.issue_on}  {len(draft.lines)} lines  "
                f"{draft.totals.gross} {draft.currency}"
            )
        typer.echo(
            f"{month} (dry run): {len(report.drafts)} invoices would be issued, "
            f"{report.already_billed} parties already billed; nothing was issued"
        )
        return
    for stored in report.invoices:
        draft = stored.issued.draft
        typer.echo(
            f"  {stored.issued.number}  {draft.invoiced_party_id}  {len(draft.lines)} lines  "
            f"{draft.totals.gross} {draft.currency}"
        )
    typer.echo(
        f"{month}: {len(report.invoices)} invoices issued, {report.already_billed} parties already billed, "
        f"{len(report.suspended_customers)} customers suspended (CTR-4)"
        + (f", {report.charges_invoiced} PAY-2 charges carried" if report.charges_invoiced else "")
    )
    for party_id, error in report.refused.items():
        typer.secho(
            f"  refused (BIL-4) {party_id}: {', '.join(error.rule_ids)}: {error.message}",
            fg=typer.colors.RED,
            err=True,
        )
    if report.refused:
        raise fail(
            f"{len(report.refused)} invoice(s) not issued: their e-invoice fails validation; "
            "fix the cause and run the period again (BIL-9: only they are issued)"
        )


@billing_app.command("invoices")
def invoices(
    period: Annotated[str | None, typer.Option(help="Only this period, YYYY-MM.")] = None,
    customer: Annotated[
        str | None, typer.Option(help="Only invoices for this customer (or party) id.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-4: list invoices and credit notes."""
    month = None if period is None else _month(period, "--period")
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        page = queries.list_invoices(uow, ctx, period=month, customer_id=customer, limit=1000)
        names = {party.id: party.name for party in uow.parties.list()}
    for header in page.items:
        status = f" voided by {header.credited_by}" if header.credited_by else ""
        typer.echo(
            f"  {header.number}  {header.issue_on}  {header.period or '-':7}  "
            f"{names.get(header.invoiced_party_id, header.invoiced_party_id)[:28]:<28}  "
            f"{header.line_count:>3} lines  {header.gross:>10} {header.currency}{status}"
        )
    typer.echo(f"{page.total} documents")


@billing_app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="An invoice or credit note number, e.g. INV-2026-000001.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-10: an invoice as text: lines with their rule IDs and sources, VAT, totals."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        stored = queries.get_invoice(uow, ctx, number)
        names = {party.id: party.name for party in uow.parties.list()}
    typer.echo(render_invoice_text(stored, names))


@billing_app.command("invoice-order")
def invoice_order(
    order_id: Annotated[str, typer.Argument(help="The order whose one-time fees to invoice.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-1: invoice an order's hardware, activation and installation fees (once)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        stored = order_fees.invoice_order(
            uow, ctx, order_id, validator=platform.einvoice_validator, settings=platform.payments
        )
    if stored is None:
        typer.echo(f"order {order_id}: nothing to invoice (already invoiced, or no one-time fees)")
    else:
        typer.echo(f"order {order_id}: {stored.issued.number}, {stored.issued.totals.gross} EUR")


@billing_app.command("void")
def void(
    number: Annotated[str, typer.Argument(help="The invoice to void.")],
    no_replacement: Annotated[bool, typer.Option(help="Only credit it; issue no replacement.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-4: void an invoice by a credit note and regenerate it (the original is never edited)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        correction = issuing.void_and_regenerate(
            uow,
            ctx,
            number,
            regenerate=not no_replacement,
            validator=platform.einvoice_validator,
            settings=platform.payments,
        )
    typer.echo(f"{number} voided by {correction.credit_note.issued.number}")
    if correction.replacement is not None:
        typer.echo(f"replaced by {correction.replacement.issued.number}")


@billing_app.command("verify")
def verify(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """CNT-1: re-check every account's chain of monthly summaries; exits 1 if any link is broken."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        states = summaries.chain_states(uow, ctx)
    broken = [state for state in states if state.broken is not None]
    for state in broken:
        assert state.broken is not None
        typer.secho(
            f"  {state.account_id}  BROKEN at {state.broken.month}: {state.broken.reason}",
            fg=typer.colors.RED,
        )
    months = sum(state.months for state in states)
    typer.echo(f"{len(states)} accounts, {months} summaries: {len(broken)} broken chains")
    if broken:
        raise typer.Exit(1)


@billing_app.command("summaries")
def show_summaries(
    account: Annotated[str, typer.Option("--account", help="The customer's id.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """CNT-1: an account's frozen monthly summaries, oldest first, with their hashes."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = summaries.account_summaries(uow, ctx, account)
    for summary in found:
        items = ", ".join(
            f"{kind.value}={quantity.normalize()}" for kind, quantity in summary.items if quantity
        )
        typer.echo(f"  {summary.month}  {items or 'nothing counted'}  hash {summary.hash[:16]}")
    typer.echo(f"{len(found)} summaries, chain intact")
