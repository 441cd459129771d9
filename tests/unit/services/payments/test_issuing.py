"""BIL-4 and PAY-2 on the issuing path, on the in-memory unit of work: an invoice whose e-invoice fails
validation is not issued (no number consumed, the failing rule reported), and the monthly run
carries a party's pending late-payment interest and reminder fees as exempt (E) lines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from nuage.adapters.einvoice_validation import validate_einvoice
from nuage.billing.numbering import INVOICE_SERIES
from nuage.billing.vat import COMPENSATION_VAT, VatCategory
from nuage.documents.findings import EInvoiceInvalid
from nuage.documents.model import DocumentInput
from nuage.documents.ubl import NS_CAC, NS_CBC
from nuage.services import einvoicing
from nuage.services.billing.counting import freeze_month
from nuage.services.billing.issuing import void_and_regenerate
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments import documents, dunning
from nuage.shared.month import Month
from payments_flow import Month1

D = Decimal
NS = {"cac": NS_CAC, "cbc": NS_CBC}


@pytest.fixture
def broken_totals(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Make the UBL of the named parties' documents state a wrong sum of lines (EN 16931 BR-CO-10)."""
    parties: set[str] = set()
    real = einvoicing.build_ubl

    def build(doc: DocumentInput) -> bytes:
        ubl = real(doc)
        if doc.buyer.party_id not in parties:
            return ubl
        tree = etree.fromstring(ubl)
        (node,) = tree.xpath("cac:LegalMonetaryTotal/cbc:LineExtensionAmount", namespaces=NS)
        node.text = f"{D(node.text) + D('0.01')}"
        return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))

    monkeypatch.setattr(einvoicing, "build_ubl", build)
    return parties


def _last_number(month1: Month1, year: int) -> str | None:
    with month1.uow() as (uow, _store):
        return uow.billing.locked_last_number(INVOICE_SERIES, year)


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("BIL-9")
def test_the_run_refuses_an_invalid_e_invoice_without_consuming_a_number(
    month1: Month1, broken_totals: set[str]
) -> None:
    dupont_id = month1.ids["Atelier Dupont"]
    broken_totals.add(dupont_id)
    month1.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    with month1.uow() as (uow, _store):
        freeze_month(uow, month1.ctx, Month(2026, 2))
        before = {state.contract.customer_id: state for state in uow.billing.contracts()}
    last = _last_number(month1, 2026)
    report = month1.run(Month(2026, 2))
    assert set(report.refused) == {dupont_id}
    assert "BR-CO-10" in report.refused[dupont_id].rule_ids
    assert dupont_id not in {s.issued.draft.invoiced_party_id for s in report.invoices}
    # gapless: the others took the numbers right after the last one; nothing half-issued for Dupont
    numbers = sorted(s.issued.number for s in report.invoices)
    assert last is not None
    first = int(last.rsplit("-", 1)[1]) + 1
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == list(range(first, first + len(numbers)))
    with month1.uow() as (uow, _store):
        assert uow.billing.locked_last_number(INVOICE_SERIES, 2026) == numbers[-1]
        headers, _ = uow.billing.list_invoices(party_ids=[dupont_id], period="2026-02", limit=10, offset=0)
        assert headers == []
        assert uow.billing.contract_for(dupont_id) == before[dupont_id]  # not advanced
    # fixed: the re-run bills Dupont (and only Dupont) with the next number (BIL-9)
    broken_totals.clear()
    again = month1.run(Month(2026, 2))
    assert again.refused == {}
    assert [s.issued.draft.invoiced_party_id for s in again.invoices] == [dupont_id]
    assert int(again.invoices[0].issued.number.rsplit("-", 1)[1]) == first + len(numbers)


@pytest.mark.rule("BIL-4")
def test_a_correction_with_an_invalid_e_invoice_is_rolled_back(
    month1: Month1, broken_totals: set[str]
) -> None:
    dupont_id, number = month1.ids["Atelier Dupont"], month1.numbers["Atelier Dupont"]
    broken_totals.add(dupont_id)
    last = _last_number(month1, 2026)
    with month1.uow() as (uow, _store), pytest.raises(EInvoiceInvalid) as refused:
        void_and_regenerate(uow, month1.ctx, number, validator=month1.tools.validator)
    assert "BR-CO-10" in refused.value.rule_ids
    assert refused.value.details["field"] == "e-invoice"
    assert refused.value.details["rule_id"] == "BR-CO-10"
    with month1.uow() as (uow, _store):
        stored = uow.billing.find_invoice(number)
        assert stored is not None
        assert stored.credited_by is None  # no credit note either: the correction is all or nothing
        assert uow.billing.locked_last_number(INVOICE_SERIES, 2026) == last


@pytest.mark.rule("PAY-2")
@pytest.mark.rule("BIL-9")
@pytest.mark.rule("BIL-10")
def test_the_monthly_run_puts_interest_and_fees_on_the_next_invoice_as_exempt_lines(month1: Month1) -> None:
    dupont_id = month1.ids["Atelier Dupont"]
    month1.clock.set(datetime(2026, 3, 19, 9, tzinfo=UTC))
    with month1.uow() as (uow, store):
        # due 5 March: reminder 1 on 12 March (free), reminder 2 on 19 March (7.50), and delay
        # month 1 (1 % of 102.03)
        dunning.run_dunning(uow, month1.ctx, PaymentSettings(), date(2026, 3, 12))
        dunning.run_dunning(uow, month1.ctx, PaymentSettings(), date(2026, 3, 19))
        pending = store.charges(dupont_id)
        every_party = store.charges()
        freeze_month(uow, month1.ctx, Month(2026, 2))
    assert sorted(c.line.amount for c in pending) == [D("1.02"), D("7.50")]
    report = month1.run(Month(2026, 2))
    assert report.refused == {}
    assert report.charges_invoiced == len(every_party)  # the partners' overdue invoices too
    (invoice,) = [s for s in report.invoices if s.issued.draft.invoiced_party_id == dupont_id]
    charged = [line for line in invoice.issued.draft.lines if line.rule_id == "PAY-2"]
    assert sorted(line.amount for line in charged) == [D("1.02"), D("7.50")]
    assert invoice.issued.draft.lines[-2:] == tuple(charged)  # their own lines, after the services
    with month1.uow() as (uow, store):
        assert store.charges(dupont_id) == []  # consumed in the issuing transaction
        assert {c.invoiced_in for c in store.charges(dupont_id, pending_only=False)} == {
            invoice.issued.number
        }
        stored = uow.billing.find_invoice(invoice.issued.number)
        assert stored is not None
        assert [line.vat for line in stored.issued.draft.lines if line.rule_id == "PAY-2"] == [
            COMPENSATION_VAT,
            COMPENSATION_VAT,
        ]
        totals = stored.issued.totals
        exempt = [row for row in totals.breakdown if row.category is VatCategory.EXEMPT]
        assert [(row.base, row.vat) for row in exempt] == [(D("8.52"), D("0.00"))]
        standard = [row for row in totals.breakdown if row.category is VatCategory.STANDARD]
        assert totals.gross == sum((row.base + row.vat for row in standard), D(0)) + D("8.52")
        document = documents.render_documents(uow, month1.ctx, invoice.issued.number, month1.tools)
    validate_einvoice(invoice.issued.number, document.ubl)
    # BIL-9: a re-run issues nothing and charges nothing twice
    again = month1.run(Month(2026, 2))
    assert again.invoices == []
    assert again.charges_invoiced == 0
