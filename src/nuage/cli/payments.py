"""``nuage payments`` (PAY-1, TEN-5): bank statements (camt.053), payments by hand, parked entries, balances.

After the demo month is billed and invoiced (``nuage invoices``)::

    nuage payments demo-statement --out statement.xml         # pays Dupont, part of a partner
    nuage payments import-camt statement.xml
    nuage payments balances
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, day_option, fail, operator_session, write_file
from nuage.documents.reference import reference_for
from nuage.payments.camt import BankEntry, write_camt053
from nuage.services.payments import documents, payments

payments_app = typer.Typer(
    help="Payments: bank statements (camt.053), balances (PAY-1).", no_args_is_help=True
)


@payments_app.command("import-camt")
def import_camt(
    file: Annotated[Path, typer.Argument(help="A camt.053 XML bank statement.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1: import a bank statement; credits matched by structured reference, others parked; idempotent."""
    if not file.is_file():
        raise fail(f"no such file: {file}")
    with (
        operator_session(data_dir, database_url) as (platform, ctx),
        platform.uow() as uow,
        file.open("rb") as stream,
    ):
        report = payments.import_statement(uow, ctx, stream)  # streamed, with a size cap
        uow.commit()
    for ref, number, amount in report.matched:
        typer.echo(f"  matched {ref}: {amount} EUR -> {number}")
    for ref, reason in report.parked:
        typer.secho(f"  parked {ref}: {reason}", fg=typer.colors.YELLOW)
    typer.echo(
        f"statements {', '.join(report.statements)}: {len(report.matched)} matched, "
        f"{len(report.parked)} parked, "
        f"{len(report.ignored)} debits ignored, {report.duplicates} already imported"
    )


@payments_app.command("record")
def record(
    party: Annotated[str, typer.Argument(help="The paying party id.")],
    amount: Annotated[str, typer.Argument(help="Amount in EUR, e.g. 102.03.")],
    invoice: Annotated[str | None, typer.Option(help="The invoice paid.")] = None,
    on: Annotated[str | None, typer.Option(help="Date received (YYYY-MM-DD); default today.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1: record a payment by hand."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise fail(f"amount {amount!r} is not a number") from exc
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        received = day_option(on, "--on") or platform.clock.now().date()
        payment = payments.record_payment(
            uow, ctx, party_id=party, amount=value, received_on=received, invoice_number=invoice
        )
        uow.commit()
    typer.echo(f"payment {payment.payment_id}: {payment.amount} EUR from {payment.party_id}")


@payments_app.command("balances")
def show_balances(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """PAY-1/TEN-5: what each contracting party owes (negative: credit on its account)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = payments.balances(uow, ctx, platform.payments)
    for item in found:
        typer.echo(
            f"  {item.party_id}  {item.name[:28]:<28}  billed {item.billed:>9}  paid {item.received:>9}  "
            f"balance {item.balance:>9}  overdue {item.overdue:>9}"
        )
        if item.total_due != item.balance or item.fees or item.interest:
            typer.echo(
                f"      of which services {item.principal}, reminder fees {item.fees}, interest "
                f"{item.interest} (PAY-2); on the next invoice: fees {item.pending_fees}, interest "
                f"{item.pending_interest}, other {item.pending_other}; total due {item.total_due}"
            )


@payments_app.command("parked")
def parked(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """PAY-1: bank entries waiting for review."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = payments.parked_entries(uow, ctx)
    for item in found:
        typer.echo(
            f"  #{item.parked_id}  {item.entry.booked_on}  {item.entry.amount} {item.entry.currency}  "
            f"{item.entry.debtor_name or '-'}  {item.reason}"
        )
    typer.echo(f"{len(found)} parked entries")


@payments_app.command("assign")
def assign(
    parked_id: Annotated[int, typer.Argument(help="The parked entry (see `nuage payments parked`).")],
    invoice: Annotated[str | None, typer.Option(help="The invoice it pays.")] = None,
    party: Annotated[str | None, typer.Option(help="Or the party whose account it credits.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1: turn a parked entry into a payment."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        payment = payments.assign_parked(uow, ctx, parked_id, invoice_number=invoice, party_id=party)
        uow.commit()
    typer.echo(f"parked entry #{parked_id} -> payment {payment.payment_id} of {payment.party_id}")


@payments_app.command("demo-statement")
def demo_statement(
    out: Annotated[Path, typer.Option("--out", help="Where to write the camt.053 file.")] = Path(
        "statement.xml"
    ),
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1: a camt.053 statement for the demo: the first invoice paid in full, the second in part,
    one transfer with an unknown reference (parked)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        listing = documents.list_documents(uow, ctx)
        iban = platform.payments.iban
    invoices = [item for item in listing if item.document_type == "invoice"]
    if len(invoices) < 2:
        raise fail("bill the demo month first: nuage billing run --period 2026-01")
    first, second = invoices[0], invoices[1]
    booked = first.issue_on.replace(day=min(first.issue_on.day + 14, 28))
    half = (second.gross / 2).quantize(Decimal("0.01"))
    entries = (
        BankEntry(
            "DEMO-STMT-1",
            "E1",
            first.gross,
            "EUR",
            True,
            booked,
            reference_for(first.number),
            "Payer 1",
            None,
        ),
        BankEntry(
            "DEMO-STMT-1", "E2", half, "EUR", True, booked, reference_for(second.number), "Payer 2", None
        ),
        BankEntry(
            "DEMO-STMT-1",
            "E3",
            Decimal("25.00"),
            "EUR",
            True,
            booked,
            "invoice please",
            "Unknown payer",
            None,
        ),
    )
    write_file(out, write_camt053("DEMO-STMT-1", iban, entries))
    typer.echo(f"wrote {out}: {first.number} paid, {second.number} half paid, one unknown transfer")
