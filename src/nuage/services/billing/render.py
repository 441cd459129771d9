"""A readable text invoice (BIL-4, BIL-10): every line with its rule ID and sources, VAT and totals.

The words of its lines are the English texts of ``documents.messages``, the one catalogue of
invoice-line labels the PDF and UBL renderings (BIL-4) read in EN, FR and NL.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from nuage.billing.invoices import VatBreakdown
from nuage.billing.lines import InvoiceLine
from nuage.billing.vat import VatTreatment, regime_vat
from nuage.documents.messages import line_text
from nuage.errors import InvalidInput
from nuage.services.billing.ports import StoredInvoice


def label(key: str, params: Mapping[str, str] | None = None) -> str:
    """BIL-10: the English text of a description key, from the one catalogue the PDF and the UBL
    e-invoice read (``documents.messages``); the key itself when it has none."""
    try:
        return line_text(key, "en", params)
    except InvalidInput:
        return key


def _treatment(breakdown: VatBreakdown, vat: VatTreatment) -> str:
    """BIL-4: the regime of a breakdown row that follows the invoice, else its own category."""
    if breakdown.category is regime_vat(vat).category:
        return vat.regime.value
    return f"{breakdown.category.name.lower().replace('_', ' ')}, {breakdown.category.value}"


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _describe(line: InvoiceLine, names: Mapping[str, str]) -> str:
    params = dict(line.description_params)
    text = label(line.description_key, params)
    details = []
    if line.period is not None:
        details.append(str(line.period))
    if line.proration is not None:
        details.append(f"× {line.proration.numerator}/{line.proration.denominator}")
    if "calls" in params:
        details.append(f"{params['calls']} calls, {params['seconds']} s")
    if "floor" in params:
        details.append(f"counted {params['counted']}, quarterly floor {params['floor']}")
    customer = names.get(line.customer_id, line.customer_id)
    return f"{text} ({', '.join(details)}) — {customer}" if details else f"{text} — {customer}"


def _sources(line: InvoiceLine, limit: int = 5) -> str:
    keys = [f"{source.kind}:{source.key}" for source in line.sources]
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def render_invoice_text(stored: StoredInvoice, names: Mapping[str, str]) -> str:
    """BIL-4/BIL-10: the invoice as text; ``names`` maps party ids to names."""
    issued = stored.issued
    draft = issued.draft
    totals = issued.totals
    title = "CREDIT NOTE" if draft.document_type.value == "credit-note" else "INVOICE"
    out = [
        f"{title} {issued.number}",
        f"Issued on {draft.issue_on.isoformat()}" + (f" for period {draft.period}" if draft.period else ""),
        f"To: {names.get(draft.invoiced_party_id, draft.invoiced_party_id)} ({draft.invoiced_party_id})",
    ]
    if draft.credits:
        out.append(f"Cancels invoice {draft.credits}")
    if draft.replaces:
        out.append(f"Replaces invoice {draft.replaces}")
    if stored.credited_by:
        out.append(f"VOIDED by credit note {stored.credited_by}")
    if stored.replaced_by:
        out.append(f"Replaced by invoice {stored.replaced_by}")
    out.append("")
    out.append(f"{'#':>3}  {'rule':<7} {'quantity':>9} {'unit price':>11} {'amount':>11}  description")
    for position, line in enumerate(draft.lines, start=1):
        out.append(
            f"{position:>3}  {line.rule_id:<7} {line.quantity.normalize():>9} {_money(line.unit_price):>11} "
            f"{_money(line.amount):>11}  {_describe(line, names)}"
        )
        out.append(f"{'':>5}sources: {_sources(line)}")
    out.append("")
    for breakdown in totals.breakdown:
        out.append(
            f"VAT {breakdown.rate * 100:.0f}% on {_money(breakdown.base)} {draft.currency}: "
            f"{_money(breakdown.vat)} {draft.currency} ({_treatment(breakdown, draft.vat)})"
        )
        if breakdown.exemption_key and breakdown.exemption_key != draft.vat.mention_key:
            out.append(f"  {label(breakdown.exemption_key)}")
    if draft.vat.mention_key:
        out.append(label(draft.vat.mention_key))
    out.append(f"Total excl. VAT: {_money(totals.net):>12} {draft.currency}")
    out.append(f"VAT:             {_money(totals.vat):>12} {draft.currency}")
    out.append(f"Total due:       {_money(totals.gross):>12} {draft.currency}")
    return "\n".join(out)
