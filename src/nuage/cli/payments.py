"""``nuage invoices``, ``nuage payments``, ``nuage dunning`` (BIL-4, PAY-1..4).

The demo month to the end, after ``nuage billing run --period 2026-01``::

    nuage invoices render INV-2026-000001 --out invoices/      # PDF + validated Peppol UBL
    nuage invoices render --all --out invoices/
    python -m aiosmtpd -n -l 127.0.0.1:8025 &                 # a local SMTP sink
    nuage invoices send --smtp 127.0.0.1:8025
    nuage payments demo-statement --out statement.xml         # pays Dupont, part of a partner
    nuage payments import-camt statement.xml
    nuage payments balances
    nuage dunning run --on 2026-03-12                         # first reminder
    nuage dunning run --on 2026-04-11 --auto-suspend          # interest; suspension after the last
    nuage dunning suspend CUSTOMER / nuage dunning restore CUSTOMER

Settings come from the ``[payments]`` table of ``nuage.toml``: ``iban``, ``bic``,
``payment_days``, ``mail_from``, ``reminder_days`` (e.g. [7, 14, 30]), ``reminder_fees``,
``interest_mode`` ("per-started-month" or "pro-rata"), ``suspend_after_days``, ``auto_suspend``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from nuage.bootstrap import Platform
from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.config import load_settings, parse_host_port, read_config_file
from nuage.documents.reference import reference_for
from nuage.errors import NuageError
from nuage.payments.camt import BankEntry, write_camt053
from nuage.payments.dunning import DunningPolicy, InterestMode
from nuage.services import payments as p
from nuage.services.context import Context
from nuage.shared.month import Month
from nuage.storage.sql.payments_store import SqlPaymentStore, payment_store
from nuage.storage.sql.unit_of_work import SqlUnitOfWork

invoices_app = typer.Typer(
    help="Invoice documents: PDF and Peppol UBL, e-mail delivery (BIL-4).", no_args_is_help=True
)
payments_app = typer.Typer(
    help="Payments: bank statements (camt.053), balances (PAY-1).", no_args_is_help=True
)
dunning_app = typer.Typer(help="Dunning: reminders, interest, suspension (PAY-1..4).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the three command groups to the ``nuage`` command."""
    app.add_typer(invoices_app, name="invoices")
    app.add_typer(payments_app, name="payments")
    app.add_typer(dunning_app, name="dunning")


def _payment_settings(data_dir: Path | None, database_url: str | None) -> p.PaymentSettings:
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    path = settings.config_file or settings.data_dir / "nuage.toml"
    raw: dict[str, Any] = dict(read_config_file(path).get("payments", {})) if path.is_file() else {}
    policy_fields: dict[str, Any] = {}
    if "reminder_days" in raw:
        policy_fields["reminder_days"] = tuple(int(day) for day in raw.pop("reminder_days"))
    if "reminder_fees" in raw:
        policy_fields["reminder_fees"] = tuple(Decimal(str(fee)) for fee in raw.pop("reminder_fees"))
    if "interest_mode" in raw:
        policy_fields["interest_mode"] = InterestMode(raw.pop("interest_mode"))
    for key in ("suspend_after_days", "auto_suspend"):
        if key in raw:
            policy_fields[key] = raw.pop(key)
    known = {"iban", "bic", "account_holder", "payment_days", "mail_from"}
    unknown = set(raw) - known
    if unknown:
        raise fail(f"[payments] in {path}: unknown settings {', '.join(sorted(unknown))}")
    return p.PaymentSettings(**raw, policy=DunningPolicy(**policy_fields))


@contextmanager
def _session(
    data_dir: Path | None, database_url: str | None
) -> Iterator[tuple[Platform, Context, p.PaymentSettings]]:
    with operator_session(data_dir, database_url) as (platform, ctx):
        yield platform, ctx, _payment_settings(data_dir, database_url)


@contextmanager
def _uow(platform: Platform) -> Iterator[tuple[SqlUnitOfWork, SqlPaymentStore]]:
    with platform.uow() as uow:
        yield uow, payment_store(uow)
        uow.commit()


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"{option}: {exc}") from exc


# --- invoices ---------------------------------------------------------------------------------------------


@invoices_app.command("render")
def render(
    number: Annotated[str | None, typer.Argument(help="Invoice or credit note number.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for NUMBER.pdf and NUMBER.xml.")] = Path("."),
    all_documents: Annotated[bool, typer.Option("--all", help="Every invoice and credit note.")] = False,
    language: Annotated[
        str | None, typer.Option(help="A copy in en, fr or nl (default: the party's language, stored).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-4: write the PDF and the Peppol UBL (validated: UBL 2.1 XSD + EN 16931) of invoices."""
    if number is None and not all_documents:
        raise fail("give an invoice number or --all")
    out.mkdir(parents=True, exist_ok=True)
    with _session(data_dir, database_url) as (platform, ctx, settings), _uow(platform) as (uow, store):
        numbers = [number] if number else [item.number for item in p.list_documents(uow, store, ctx)]
        for each in numbers:
            if language is not None:
                pdf, ubl = p.render_copy(uow, ctx, each, settings, language)
                (out / f"{each}.{language}.pdf").write_bytes(pdf)
                (out / f"{each}.{language}.xml").write_bytes(ubl)
                typer.echo(f"  {each}  {language} copy")
                continue
            stored = p.render_documents(uow, store, ctx, each, settings)
            (out / f"{each}.pdf").write_bytes(stored.pdf)
            (out / f"{each}.xml").write_bytes(stored.ubl)
            reference = stored.structured_reference or "-"
            typer.echo(
                f"  {each}  {stored.language}  {reference}  "
                f"pdf {stored.pdf_sha256[:12]}  ubl {stored.ubl_sha256[:12]}"
            )
    typer.echo(f"{len(numbers)} documents written to {out} (UBL valid: UBL 2.1 XSD and EN 16931)")


@invoices_app.command("list")
def list_(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """BIL-4: every invoice with its files (as the portal and API list them)."""
    with _session(data_dir, database_url) as (platform, ctx, _settings), _uow(platform) as (uow, store):
        listing = p.list_documents(uow, store, ctx)
    for item in listing:
        files = "pdf+ubl" if item.pdf_sha256 else "not rendered"
        typer.echo(
            f"  {item.number}  {item.issue_on}  {item.invoiced_party_id}  "
            f"{item.gross:>10} {item.currency}  {files}"
        )
    typer.echo(f"{len(listing)} documents")


@invoices_app.command("send")
def send(
    smtp: Annotated[str, typer.Option("--smtp", help="SMTP server HOST:PORT.")],
    period: Annotated[str | None, typer.Option(help="Only this period, YYYY-MM.")] = None,
    resend: Annotated[bool, typer.Option(help="Send again documents already delivered.")] = False,
    attempts: Annotated[int, typer.Option(min=1, help="Tries per e-mail.")] = 3,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-4: e-mail each invoice with its PDF and UBL attached; retried, logged; sent ones are not resent."""
    try:
        host, port = parse_host_port(smtp)
        month = None if period is None else Month.parse(period)
    except (ValueError, NuageError) as exc:
        raise fail(str(exc)) from exc
    with _session(data_dir, database_url) as (platform, ctx, settings):
        with _uow(platform) as (uow, store):
            outgoing, skipped = p.prepare_documents(uow, store, ctx, settings, period=month, resend=resend)
        records = asyncio.run(
            p.deliver(outgoing, p.SmtpTarget(host, port, attempts=attempts), platform.clock.now)
        )
        with _uow(platform) as (_uow2, store):
            report = p.record_deliveries(store, records)
    for record in records:
        typer.echo(
            f"  {record.number}  {record.recipient}  {record.status} after {record.attempts} attempt(s)"
        )
    for number, error in report.failed.items():
        typer.secho(f"  failed {number}: {error}", fg=typer.colors.YELLOW)
    typer.echo(f"{len(report.sent)} sent, {len(report.failed)} failed, {len(skipped)} already delivered")
    if report.failed:
        raise typer.Exit(code=1)


# --- payments ---------------------------------------------------------------------------------------------


@payments_app.command("import-camt")
def import_camt(
    file: Annotated[Path, typer.Argument(help="A camt.053 XML bank statement.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-1: import a bank statement; credits matched by structured reference, others parked; idempotent."""
    if not file.is_file():
        raise fail(f"no such file: {file}")
    with _session(data_dir, database_url) as (platform, ctx, _settings), _uow(platform) as (uow, store):
        report = p.import_statement(uow, store, ctx, file.read_bytes())
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
    with _session(data_dir, database_url) as (platform, ctx, _settings), _uow(platform) as (uow, store):
        received = _date(on, "--on") or platform.clock.now().date()
        payment = p.record_payment(
            uow, store, ctx, party_id=party, amount=value, received_on=received, invoice_number=invoice
        )
    typer.echo(f"payment {payment.payment_id}: {payment.amount} EUR from {payment.party_id}")


@payments_app.command("balances")
def show_balances(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """PAY-1/TEN-5: what each contracting party owes (negative: credit on its account)."""
    with _session(data_dir, database_url) as (platform, ctx, settings), _uow(platform) as (uow, store):
        found = p.balances(uow, store, ctx, settings)
    for item in found:
        typer.echo(
            f"  {item.party_id}  {item.name[:28]:<28}  billed {item.billed:>9}  paid {item.received:>9}  "
            f"balance {item.balance:>9}  overdue {item.overdue:>9}"
        )


@payments_app.command("parked")
def parked(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """PAY-1: bank entries waiting for review."""
    with _session(data_dir, database_url) as (platform, ctx, _settings), _uow(platform) as (_uow2, store):
        found = p.parked_entries(store, ctx)
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
    with _session(data_dir, database_url) as (platform, ctx, _settings), _uow(platform) as (uow, store):
        payment = p.assign_parked(uow, store, ctx, parked_id, invoice_number=invoice, party_id=party)
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
    with _session(data_dir, database_url) as (platform, ctx, settings), _uow(platform) as (uow, store):
        invoices = [item for item in p.list_documents(uow, store, ctx) if item.document_type == "invoice"]
    if len(invoices) < 2:
        raise fail("bill the demo month first: nuage billing run --period 2026-01")
    first, second = invoices[0], invoices[1]
    booked = first.issue_on.replace(day=min(first.issue_on.day + 14, 28))
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
            "DEMO-STMT-1",
            "E2",
            (second.gross / 2).quantize(Decimal("0.01")),
            "EUR",
            True,
            booked,
            reference_for(second.number),
            "Payer 2",
            None,
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
    out.write_bytes(write_camt053("DEMO-STMT-1", settings.iban, entries))
    typer.echo(f"wrote {out}: {first.number} paid, {second.number} half paid, one unknown transfer")


# --- dunning ----------------------------------------------------------------------------------------------


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
    day = _date(on, "--on")
    target = None
    if smtp is not None:
        try:
            target = parse_host_port(smtp)
        except ValueError as exc:
            raise fail(f"--smtp: {exc}") from exc
    with _session(data_dir, database_url) as (platform, ctx, settings):
        if auto_suspend is not None:
            from dataclasses import replace

            settings = replace(settings, policy=replace(settings.policy, auto_suspend=auto_suspend))
        with _uow(platform) as (uow, store):
            report = p.run_dunning(uow, store, ctx, settings, day)
            defaults = p.in_default(uow, store, ctx, settings, report.on)
        if target is not None and report.reminders:
            records = asyncio.run(p.deliver(report.reminders, p.SmtpTarget(*target), platform.clock.now))
            with _uow(platform) as (_uow2, store):
                p.record_deliveries(store, records)
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
    with _session(data_dir, database_url) as (platform, ctx, settings), _uow(platform) as (uow, store):
        ledger = p.current_ledger(uow, store, settings)
        numbers = tuple(state.number for state in ledger.overdue(platform.clock.now().date(), party))
        changed = p.suspend(uow, ctx, party, numbers)
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
    with _session(data_dir, database_url) as (platform, ctx, _settings), _uow(platform) as (uow, _store):
        changed = p.restore(uow, ctx, party)
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
    with _session(data_dir, database_url) as (platform, ctx, _settings), _uow(platform) as (uow, _store):
        suspended = p.suspend_partner_customers(uow, ctx, partner)
        moved = []
        if move_to is not None:
            moved = p.move_partner_customers(uow, ctx, partner, None if move_to == "direct" else move_to)
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
    with _session(data_dir, database_url) as (platform, ctx, _settings), _uow(platform) as (uow, store):
        line = p.add_collection_costs(uow, store, ctx, party, Decimal(amount), note)
    typer.echo(f"collection costs {line.amount} EUR pending for {party} (PAY-2)")


@dunning_app.command("invoice-charges")
def invoice_charges(
    party: Annotated[str, typer.Argument(help="The contracting party.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """PAY-2: issue the pending interest, reminder fees and collection costs of a party now
    (without this, the party's next monthly invoice carries them)."""
    with _session(data_dir, database_url) as (platform, ctx, settings), _uow(platform) as (uow, store):
        stored = p.invoice_charges(uow, store, ctx, party, settings=settings)
    if stored is None:
        typer.echo(f"nothing pending for {party}")
    else:
        typer.echo(
            f"{stored.issued.number}: {len(stored.issued.draft.lines)} PAY-2 lines, "
            f"{stored.issued.totals.gross} EUR"
        )
