"""The HTML of an invoice or credit note (BIL-4, BIL-10, TEN-2): the source the PDF is printed from.

The template (``templates/invoice.html``) shows the brand (TEN-2), seller and buyer, every
line with its rule ID and the counted items it comes from (BIL-10), the monthly summary
rows the lines cite (CNT-1), the VAT breakdown, the totals and the structured payment
reference (PAY-1), all in the customer's language with Belgian formats. Printing it to PDF is the
``DocumentRenderer`` port's job (``nuage.adapters.weasyprint_pdf``).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, Template, select_autoescape

from nuage.billing.lines import InvoiceLine
from nuage.documents import formatting as fmt
from nuage.documents.messages import MESSAGES, item_text, line_text, message
from nuage.documents.model import DocumentInput


@cache
def _template() -> Template:
    environment = Environment(
        loader=PackageLoader("nuage.documents", "templates"), autoescape=select_autoescape(["html"])
    )
    return environment.get_template("invoice.html")


def _words(language: str) -> dict[str, str]:
    return {
        key.removeprefix("doc."): texts[language] for key, texts in MESSAGES.items() if key.startswith("doc.")
    }


def _details(line: InvoiceLine, doc: DocumentInput) -> str:
    params = dict(line.description_params)
    language = doc.language
    parts = []
    if line.customer_id != doc.buyer.party_id:
        parts.append(doc.customer_names.get(line.customer_id, line.customer_id))
    if line.period is not None:
        parts.append(str(line.period))
    if line.proration is not None:
        share = f"{line.proration.numerator}/{line.proration.denominator}"
        parts.append(message("doc.prorata", language, share=share))
    if "calls" in params:
        parts.append(
            message("doc.calls", language, calls=params["calls"], seconds=params.get("seconds", "0"))
        )
    if "floor" in params:
        parts.append(
            message("doc.floor", language, counted=params.get("counted", "-"), floor=params["floor"])
        )
    return " · ".join(parts)


#: a hash or another long hexadecimal run in a source key: the page shows its first 16 digits (the
#: e-invoice and the API keep the whole key), as the monthly summaries' seals are shown
_LONG_HEX = re.compile(r"[0-9a-f]{17,}")


def _sources(line: InvoiceLine, limit: int = 4) -> str:
    """BIL-10: the line's first sources, long hashes shortened so the line stays on the page."""
    keys = [_LONG_HEX.sub(lambda m: m.group(0)[:16] + "…", f"{s.kind}:{s.key}") for s in line.sources]
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit})" if len(keys) > limit else "")


def document_context(doc: DocumentInput) -> dict[str, Any]:
    """BIL-4/BIL-10: the values the template shows (also used by tests and the e-mail)."""
    language = doc.language
    draft = doc.issued.draft
    sign = -1 if doc.is_credit_note else 1
    currency = draft.currency
    totals = doc.issued.totals

    def money(value: Any) -> str:
        return fmt.money(value, language, currency)

    reference = doc.structured_reference
    if reference:
        payment_text = message(
            "doc.payment",
            language,
            amount=money(totals.gross),
            iban=doc.bank.iban,
            bic=doc.bank.bic,
            due=fmt.day(doc.due_on, language),
            reference=reference,
        )
    else:
        payment_text = message("doc.credit_payment", language)
    notes = []
    if draft.credits:
        notes.append(message("doc.cancels", language, number=draft.credits))
    if draft.replaces:
        notes.append(message("doc.replaces", language, number=draft.replaces))
    title = message(f"doc.{draft.document_type.value}", language)
    summaries = [
        {
            "customer": doc.customer_names.get(summary.account_id, summary.account_id),
            "month": str(summary.month),
            "item": item_text(kind.value, language),
            "quantity": fmt.quantity(quantity, language),
            "hash": summary.hash[:16],
        }
        for summary in doc.summaries
        for kind, quantity in summary.items
        if quantity
    ]
    return {
        "lang": language,
        "t": _words(language),
        "title": title,
        "number": doc.number,
        "brand": doc.brand,
        "seller": doc.seller,
        "buyer": doc.buyer,
        "issue_date": fmt.day(draft.issue_on, language),
        "due_date": None if doc.is_credit_note else fmt.day(doc.due_on, language),
        "period": str(draft.period) if draft.period else None,
        "notes": notes,
        "lines": [
            {
                "position": position,
                "rule_id": line.rule_id,
                "text": line_text(line.description_key, language, dict(line.description_params)),
                "details": _details(line, doc),
                "sources": _sources(line),
                "quantity": fmt.quantity(line.quantity * sign, language),
                "unit_price": money(line.unit_price),
                "amount": money(line.amount * sign),
            }
            for position, line in enumerate(draft.lines, start=1)
        ],
        "totals": {
            "net": money(totals.net * sign),
            "vat": money(totals.vat * sign),
            "gross": money(totals.gross * sign),
        },
        "vat_rows": [
            {
                "rate": fmt.percent(row.rate, language),
                "category": row.category.value,
                "exemption": message(row.exemption_key, language) if row.exemption_key else None,
                "base": money(row.base * sign),
                "vat": money(row.vat * sign),
            }
            for row in totals.breakdown
        ],
        "vat_mention": message(draft.vat.mention_key, language) if draft.vat.mention_key else None,
        "summaries": summaries,
        "reference": reference,
        "payment_text": payment_text,
        "terms": message("doc.terms", language),
    }


def render_html(doc: DocumentInput) -> str:
    """BIL-4: the invoice as HTML (the PDF's source; the portal can show it as is)."""
    return _template().render(**document_context(doc))
