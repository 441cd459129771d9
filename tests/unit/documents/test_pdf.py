from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from nuage.adapters.weasyprint_pdf import WeasyPrintRenderer
from nuage.billing.lines import SourceRef
from nuage.documents.html import render_html
from nuage.documents.model import Brand

from .samples import DUPONT, all_documents, document, invoice

DOCUMENTS = all_documents()


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: scripts/install --test installs it")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    # Babel puts (narrow) no-break spaces in amounts; compare with plain spaces.
    return " ".join(out.stdout.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("BIL-10")
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["Facture INV-2026-000001", "Utilisateurs", "1 234,71 €", "Total TVAC", "Ventilation TVA"]),
        ("nl", ["Factuur INV-2026-000001", "Gebruikers", "€ 1.234,71", "Totaal incl. btw", "Btw-overzicht"]),
        ("en", ["Invoice INV-2026-000001", "Users", "1.234,71 €", "Total incl. VAT", "VAT breakdown"]),
    ],
)
def test_pdf_in_each_language_shows_amounts_reference_and_rules(
    language: str, expected: list[str], tmp_path: Path
) -> None:
    text = pdf_text(WeasyPrintRenderer().render_pdf(document(invoice(DUPONT), DUPONT, language)), tmp_path)
    for fragment in expected:
        assert fragment in text
    assert "+++202/6000/00192+++" in text
    for rule in ("BIL-1", "BIL-2", "BIL-3", "CNT-3"):
        assert rule in text
    assert "ab12cd34ef56ab78" in text  # CNT-1: the monthly summary's seal


@pytest.mark.rule("TEN-2")
def test_white_label_brand_shows_on_the_document(tmp_path: Path) -> None:
    brand = Brand("BruVoice", "#0b5394", "#f1c232", "support@bruvoice.example", white_label=True)
    html = render_html(document(invoice(DUPONT), DUPONT, "fr", brand))
    assert "#0b5394" in html
    text = pdf_text(WeasyPrintRenderer().render_pdf(document(invoice(DUPONT), DUPONT, "fr", brand)), tmp_path)
    assert "BruVoice" in text
    assert "support@bruvoice.example" in text


@pytest.mark.rule("BIL-4")
def test_credit_note_pdf_has_no_payment_reference(tmp_path: Path) -> None:
    text = pdf_text(WeasyPrintRenderer().render_pdf(DOCUMENTS["credit-note"]), tmp_path)
    assert "Note de crédit CN-2026-000001" in text
    assert "Annule la facture INV-2026-000001" in text
    assert "+++" not in text


@pytest.mark.rule("TEN-2")
@pytest.mark.rule("TEN-5")
def test_brand_follows_white_label_for_indirect_customers_only() -> None:
    from datetime import UTC, datetime

    from nuage.documents.model import brand_for
    from nuage.tenancy.model import Party, PartyKind

    at = datetime(2026, 1, 1, tzinfo=UTC)
    operator = Party("op", PartyKind.OPERATOR, "Nuage Telecom", at)
    partner = Party("par", PartyKind.PARTNER, "Brussels Voice Partners", at, brand_name="BruVoice")
    indirect = Party("cus", PartyKind.CUSTOMER, "Bakkerij Peeters", at, partner_id="par")
    direct = Party("dir", PartyKind.CUSTOMER, "Atelier Dupont", at)
    assert brand_for(indirect, operator, partner).name == "BruVoice"
    assert brand_for(indirect, operator, partner).white_label
    assert brand_for(partner, operator, None).name == "Nuage Telecom"  # the partner's own invoice
    assert brand_for(direct, operator, None).name == "Nuage Telecom"


def _words_right_edge(pdf: bytes, tmp_path: Path) -> tuple[float, float]:
    """The right edge of the rightmost word and the page's width, in points."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True)
    right = max(float(x) for x in re.findall(r'xMax="([0-9.]+)"', out.stdout))
    width = float(re.findall(r'page width="([0-9.]+)"', out.stdout)[0])
    return right, width


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("BIL-10")
@pytest.mark.parametrize("language", ["fr", "nl", "en"])
def test_every_line_stays_on_the_page_however_long_its_sources(language: str, tmp_path: Path) -> None:
    seal = "2bb0a1a08c3ccd4d9dd6b625332b0ca9efbd3db39ad1fbcce06b6708d858f60a"  # a summary's whole hash
    issued = invoice(DUPONT)
    long_sources = tuple(
        SourceRef("monthly-summary", f"cus_74e097f30d1f1754:2026-01:{seal}:billable_users_{n}")
        for n in range(6)
    )
    lines = tuple(
        replace(line, sources=long_sources, unit_price=Decimal("123456.78"), amount=Decimal(f"98765{n}.32"))
        for n, line in enumerate(issued.draft.lines)
    )
    doc = document(replace(issued, draft=replace(issued.draft, lines=lines)), DUPONT, language)
    pdf = WeasyPrintRenderer().render_pdf(doc)
    right, width = _words_right_edge(pdf, tmp_path)
    assert right <= width - 14 / 25.4 * 72 + 1  # inside the right margin (14 mm)
    text = pdf_text(pdf, tmp_path)
    for n in range(len(lines)):
        assert f"987{' ' if language == 'fr' else '.'}65{n},32" in text  # every amount readable
    assert "2bb0a1a08c3ccd4d…" in text  # the hash shortened on the page, whole in the e-invoice
