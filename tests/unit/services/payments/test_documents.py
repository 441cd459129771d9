"""BIL-4: the demo month's documents as validated Peppol UBL and PDF; e-mailed to a real SMTP server."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from email.message import Message
from pathlib import Path

import pytest

from netports import free_port
from nuage.adapters.einvoice_validation import rule_findings, schema_findings
from nuage.adapters.smtp import SmtpMailer
from nuage.services.billing.issuing import void_and_regenerate
from nuage.services.payments import delivery, documents
from payments_flow import Month1


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed"
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return " ".join(out.stdout.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("BIL-10")
@pytest.mark.rule("TEN-5")
def test_every_demo_document_is_valid_ubl_and_a_pdf_in_the_partys_language(
    month1: Month1, tmp_path: Path
) -> None:
    with month1.uow() as (uow, _store):
        correction = void_and_regenerate(
            uow, month1.ctx, month1.numbers["Atelier Dupont"], validator=month1.tools.validator
        )
    assert correction.replacement is not None
    with month1.uow() as (uow, store):
        listing = documents.list_documents(uow, month1.ctx)
        assert len(listing) == 5  # three invoices, a credit note, a replacement
        for item in listing:
            stored = documents.render_documents(uow, month1.ctx, item.number, month1.tools)
            assert schema_findings(stored.ubl) == ()
            assert [f for f in rule_findings(stored.ubl) if f.severity != "warning"] == []
        listing = documents.list_documents(uow, month1.ctx)
    assert all(item.pdf_sha256 and item.ubl_sha256 for item in listing)
    with month1.uow() as (uow, store):
        dupont = store.find_document(month1.numbers["Atelier Dupont"])
        partner = store.find_document(month1.numbers["Brussels Voice Partners"])
    assert dupont is not None
    assert partner is not None
    text = pdf_text(dupont.pdf, tmp_path)
    assert "Facture INV-2026-000001" in text  # Dupont is French-speaking
    assert "102,03 €" in text
    assert dupont.structured_reference is not None
    assert dupont.structured_reference in text
    assert "BIL-2" in text
    assert "BIL-3" in text
    # TEN-2: the partner is invoiced by the operator, in the operator's brand.
    assert partner.brand == "Nuage Telecom"


@pytest.mark.rule("BIL-4")
def test_documents_are_e_mailed_with_both_files_and_logged(
    month1: Month1, smtp_server: tuple[int, list[Message]]
) -> None:
    port, received = smtp_server
    with month1.uow() as (uow, store):
        outgoing, skipped = delivery.prepare_documents(uow, month1.ctx, month1.tools)
    records = asyncio.run(
        delivery.deliver(outgoing, SmtpMailer("127.0.0.1", port), month1.clock.now, backoff_s=0.01)
    )
    with month1.uow() as (uow, store):
        report = delivery.record_deliveries(uow, records)
    assert skipped == []
    assert sorted(report.sent) == sorted(month1.numbers.values())
    assert len(received) == 3
    mail = next(m for m in received if month1.numbers["Atelier Dupont"] in str(m["Subject"]))
    names = sorted(part.get_filename() or "" for part in mail.walk() if part.get_filename())
    assert names == [f"{month1.numbers['Atelier Dupont']}.pdf", f"{month1.numbers['Atelier Dupont']}.xml"]
    # sent documents are not sent again
    with month1.uow() as (uow, store):
        outgoing, skipped = delivery.prepare_documents(uow, month1.ctx, month1.tools)
        assert len(store.deliveries()) == 3
    assert outgoing == []
    assert len(skipped) == 3


@pytest.mark.rule("BIL-4")
def test_unreachable_smtp_server_is_retried_then_logged_as_failed(month1: Month1) -> None:
    closed_port = free_port()
    with month1.uow() as (uow, store):
        outgoing, _ = delivery.prepare_documents(
            uow, month1.ctx, month1.tools, numbers=[month1.numbers["Meuse Connect"]]
        )
    mailer = SmtpMailer("127.0.0.1", closed_port, timeout_s=2)
    records = asyncio.run(delivery.deliver(outgoing, mailer, month1.clock.now, attempts=2, backoff_s=0.01))
    with month1.uow() as (uow, store):
        report = delivery.record_deliveries(uow, records)
        log = store.deliveries(month1.numbers["Meuse Connect"])
    assert list(report.failed) == [month1.numbers["Meuse Connect"]]
    assert [(r.status, r.attempts) for r in log] == [("failed", 2)]
    assert log[0].error
