"""Invoices and credit notes (BIL-4, BIL-9, BIL-10): drafts, totals, issue, void-and-regenerate.

* ``InvoiceDraft``: lines for one contracting party (TEN-5) from one run (``run_key``, BIL-9).
* ``invoice_totals(lines, vat)``: line amounts are already rounded half-up per line;
  VAT is computed per category and rate (``billing.vat.line_vat``: S, AE, E or O) on the
  sum of that category's lines, rounded half-up.
* ``issue(draft, number, issued_at)`` → ``IssuedInvoice``: immutable. A correction is
  never an edit: ``void_and_regenerate(issued, corrected_lines, ...)`` returns a credit
  note cancelling it and a new invoice whose ``replaces`` names it.
* Numbers come from ``billing.numbering`` (gapless, allocated at issue).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from nuage.billing.lines import InvoiceLine, SourceRef
from nuage.billing.vat import LineVat, VatCategory, VatTreatment, line_vat
from nuage.errors import Conflict
from nuage.shared.clock import require_aware
from nuage.shared.money import CURRENCY, ZERO, round_half_up_to_cent
from nuage.shared.month import Month


class DocumentType(StrEnum):
    """BIL-4: an invoice or a credit note (UBL 380 / 381)."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit-note"


@dataclass(frozen=True)
class VatBreakdown:
    """BIL-4: the taxable base and the VAT of one category and rate."""

    rate: Decimal
    base: Decimal
    vat: Decimal
    category: VatCategory = VatCategory.STANDARD
    exemption_code: str | None = None
    exemption_key: str | None = None


@dataclass(frozen=True)
class Totals:
    """BIL-4: net, VAT and gross of an invoice, with the per-rate breakdown."""

    net: Decimal
    vat: Decimal
    gross: Decimal
    breakdown: tuple[VatBreakdown, ...]


def invoice_totals(lines: Iterable[InvoiceLine], vat: VatTreatment) -> Totals:
    """BIL-4: sum of lines (rounded per line), VAT per category and rate (half-up); gross = net + VAT."""
    by_category: dict[LineVat, Decimal] = {}
    for line in lines:
        category = line_vat(line.vat, vat)
        by_category[category] = by_category.get(category, ZERO) + line.amount
    breakdown = tuple(
        VatBreakdown(
            category.rate,
            base,
            round_half_up_to_cent(base * category.rate),
            category.category,
            category.exemption_code,
            category.exemption_key,
        )
        for category, base in sorted(by_category.items(), key=lambda item: item[0].sort_key)
    )
    net = sum((item.base for item in breakdown), ZERO)
    total_vat = sum((item.vat for item in breakdown), ZERO)
    return Totals(net, total_vat, net + total_vat, breakdown)


@dataclass(frozen=True)
class InvoiceDraft:
    """BIL-9/BIL-10: an invoice (or credit note) ready to be numbered and issued."""

    run_key: str  # BIL-9: unique per (party, period, kind); storage keeps a unique index on it
    document_type: DocumentType
    invoiced_party_id: str  # TEN-5: the contracting party
    issue_on: date
    period: Month | None  # the run's period P; None for order invoices
    lines: tuple[InvoiceLine, ...]
    vat: VatTreatment
    replaces: str | None = None  # number of the invoice this one replaces (void-and-regenerate)
    credits: str | None = None  # for a credit note: number of the invoice it cancels
    currency: str = CURRENCY

    @property
    def totals(self) -> Totals:
        """BIL-4: the draft's totals."""
        return invoice_totals(self.lines, self.vat)

    @property
    def customer_ids(self) -> tuple[str, ...]:
        """TEN-5: the final customers the lines are for, in line order."""
        return tuple(dict.fromkeys(line.customer_id for line in self.lines))


@dataclass(frozen=True)
class IssuedInvoice:
    """BIL-4: an issued invoice or credit note; immutable, corrected only by a credit note."""

    number: str
    draft: InvoiceDraft
    issued_at: datetime

    @property
    def totals(self) -> Totals:
        """BIL-4: the issued totals."""
        return self.draft.totals


def issue(draft: InvoiceDraft, number: str, issued_at: datetime) -> IssuedInvoice:
    """BIL-4: give a draft its number and issue time; from then on it never changes."""
    if not draft.lines:
        raise Conflict("An invoice without lines is not issued", run_key=draft.run_key)
    return IssuedInvoice(number, draft, require_aware(issued_at))


def credit_note_for(issued: IssuedInvoice, issue_on: date, *, run_key: str | None = None) -> InvoiceDraft:
    """BIL-4: a credit note cancelling every line of an issued invoice."""
    if issued.draft.document_type is not DocumentType.INVOICE:
        raise Conflict("A credit note is not credited; issue a new invoice instead", number=issued.number)
    lines = tuple(
        replace(
            line,
            quantity=-line.quantity,
            amount=-line.amount,
            sources=(*line.sources, SourceRef("invoice", issued.number)),
        )
        for line in issued.draft.lines
    )
    return InvoiceDraft(
        run_key=run_key or f"credit:{issued.number}",
        document_type=DocumentType.CREDIT_NOTE,
        invoiced_party_id=issued.draft.invoiced_party_id,
        issue_on=issue_on,
        period=issued.draft.period,
        lines=lines,
        vat=issued.draft.vat,
        credits=issued.number,
        currency=issued.draft.currency,
    )


def void_and_regenerate(
    issued: IssuedInvoice, corrected_lines: Iterable[InvoiceLine], issue_on: date
) -> tuple[InvoiceDraft, InvoiceDraft]:
    """BIL-4/BIL-9: a correction: a credit note for ``issued`` and a new invoice that replaces it."""
    credit_note = credit_note_for(issued, issue_on)
    replacement = replace(
        issued.draft,
        run_key=f"replace:{issued.number}",
        issue_on=issue_on,
        lines=tuple(corrected_lines),
        replaces=issued.number,
    )
    return credit_note, replacement
