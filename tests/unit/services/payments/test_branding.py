"""TEN-2: a white-labelled partner's brand is the same on an invoice's PDF, its e-invoice and its e-mail.

The e-invoice checked when the invoice is issued, the PDF and UBL stored, and the e-mail are all
assembled by ``documents.model.document_input``: one builder, so one brand.
"""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from nuage.documents.ubl import build_ubl
from nuage.services.einvoicing import EInvoiceGate
from nuage.services.payments import delivery, documents, dunning
from payments_flow import Month1


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed"
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return " ".join(out.stdout.split())


@pytest.mark.rule("TEN-2")
@pytest.mark.rule("BIL-4")
def test_a_white_label_customers_invoice_carries_the_partners_brand_everywhere(
    month1: Month1, tmp_path: Path
) -> None:
    peeters = month1.ids["Bakkerij Peeters"]  # an indirect customer of BruVoice, a white-label partner
    with month1.uow() as (uow, _store):
        dunning.add_collection_costs(uow, month1.ctx, peeters, Decimal("10.00"), "bailiff")
        issued = dunning.invoice_charges(uow, month1.ctx, peeters, month1.tools)
    assert issued is not None
    number = issued.issued.number
    with month1.uow() as (uow, _store):
        checked = EInvoiceGate(uow, month1.settings, validator=month1.tools.validator).document(issued.issued)
        outgoing, _ = delivery.prepare_documents(uow, month1.ctx, month1.tools, numbers=[number])
        stored = documents.render_documents(uow, month1.ctx, number, month1.tools)
    assert checked.brand.name == "BruVoice"
    assert checked.brand.white_label
    assert build_ubl(checked) == stored.ubl  # the e-invoice checked at issue is the one kept and sent
    assert stored.brand == "BruVoice"
    assert "BruVoice" in pdf_text(stored.pdf, tmp_path)
    (mail,) = outgoing
    assert str(mail.message["Subject"]).startswith("BruVoice ")
    assert mail.message.get_body(("plain",)).get_content().rstrip().endswith("BruVoice")  # type: ignore[union-attr]
