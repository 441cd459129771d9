"""``nuage invoices`` (BIL-4): write invoices' PDF and Peppol UBL, list them, e-mail them.

After ``nuage billing run --period 2026-01``::

    nuage invoices render INV-2026-000001 --out invoices/      # PDF + validated Peppol UBL
    nuage invoices render --all --out invoices/
    python -m aiosmtpd -n -l 127.0.0.1:8025 &                 # a local SMTP sink
    nuage invoices send --smtp 127.0.0.1:8025

The bank account, payment days and sender come from ``[payments]`` in ``nuage.toml``
(``Settings.payments``, read by ``nuage.config``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from nuage.adapters.smtp import SmtpMailer
from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.config import parse_host_port
from nuage.errors import NuageError
from nuage.services.payments import delivery, documents
from nuage.shared.month import Month

invoices_app = typer.Typer(
    help="Invoice documents: PDF and Peppol UBL, e-mail delivery (BIL-4).", no_args_is_help=True
)


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
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        tools = platform.documents
        numbers = [number] if number else [item.number for item in documents.list_documents(uow, ctx)]
        for each in numbers:
            if language is not None:
                pdf, ubl = documents.render_copy(uow, ctx, each, tools, language)
                (out / f"{each}.{language}.pdf").write_bytes(pdf)
                (out / f"{each}.{language}.xml").write_bytes(ubl)
                typer.echo(f"  {each}  {language} copy")
                continue
            stored = documents.render_documents(uow, ctx, each, tools)
            (out / f"{each}.pdf").write_bytes(stored.pdf)
            (out / f"{each}.xml").write_bytes(stored.ubl)
            reference = stored.structured_reference or "-"
            typer.echo(
                f"  {each}  {stored.language}  {reference}  "
                f"pdf {stored.pdf_sha256[:12]}  ubl {stored.ubl_sha256[:12]}"
            )
        uow.commit()
    typer.echo(f"{len(numbers)} documents written to {out} (UBL valid: UBL 2.1 XSD and EN 16931)")


@invoices_app.command("list")
def list_(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """BIL-4: every invoice with its files (as the portal and API list them)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        listing = documents.list_documents(uow, ctx)
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
    with operator_session(data_dir, database_url) as (platform, ctx):
        with platform.uow() as uow:
            outgoing, skipped = delivery.prepare_documents(
                uow, ctx, platform.documents, period=month, resend=resend
            )
            uow.commit()
        records = asyncio.run(
            delivery.deliver(outgoing, SmtpMailer(host, port), platform.clock.now, attempts=attempts)
        )
        with platform.uow() as uow:
            report = delivery.record_deliveries(uow, records)
            uow.commit()
    for record in records:
        typer.echo(
            f"  {record.number}  {record.recipient}  {record.status} after {record.attempts} attempt(s)"
        )
    for number, error in report.failed.items():
        typer.secho(f"  failed {number}: {error}", fg=typer.colors.YELLOW)
    typer.echo(f"{len(report.sent)} sent, {len(report.failed)} failed, {len(skipped)} already delivered")
    if report.failed:
        raise typer.Exit(code=1)
