"""Invoice lines (BIL-10): each cites its rule, a translatable description and its sources.

``make_line`` is the one place a line's amount is computed: quantity × unit price
(× a BIL-2 pro-rata share), rounded half-up to the cent, once per line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from nuage.billing.vat import LineVat
from nuage.shared.money import round_half_up_to_cent
from nuage.shared.month import Month
from nuage.shared.rules import require_rule


class SourceRef(NamedTuple):
    """BIL-10: what a line comes from: a monthly-summary row, a rated call, an order line, a number...

    A ``NamedTuple``: a traffic line cites every priced call (a million per run), and a tuple is
    built several times faster than a frozen dataclass; it is stored as its JSON array ``[kind, key]``.
    """

    kind: str  # "monthly-summary", "order", "rated-call", "number", "invoice-line", "contract"
    key: str


@dataclass(frozen=True)
class InvoiceLine:
    """BIL-10: one invoice line; it cites the rule and the counted items it comes from."""

    rule_id: str  # "BIL-1", "BIL-2", "BIL-3", "BIL-11", "CNT-3", "CTR-3", ...
    description_key: str  # translated when rendered (EN/FR/NL)
    customer_id: str  # TEN-5: the final customer the line is for (itemised on partner invoices)
    item_kind: str  # ItemKind / OneTimeKind value, or "traffic"
    period: Month | None  # the period the line covers; None for one-time fees
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # rounded half-up to the cent
    sources: tuple[SourceRef, ...]
    proration: Fraction | None = None  # BIL-2 share of the period, when not the whole period
    description_params: tuple[tuple[str, str], ...] = ()
    vat: LineVat | None = None  # BIL-4: None follows the invoice's VAT regime (billing.vat.line_vat)

    def __post_init__(self) -> None:
        require_rule(self.rule_id)


def make_line(
    *,
    rule_id: str,
    description_key: str,
    customer_id: str,
    item_kind: str,
    period: Month | None,
    quantity: Decimal,
    unit_price: Decimal,
    sources: tuple[SourceRef, ...],
    proration: Fraction | None = None,
    params: Mapping[str, str] | None = None,
    vat: LineVat | None = None,
) -> InvoiceLine:
    """BIL-10: build a line; amount = quantity × unit price × proration, rounded half-up per line."""
    exact = quantity * unit_price
    if proration is not None:
        exact = exact * proration.numerator / Decimal(proration.denominator)
    return InvoiceLine(
        rule_id=rule_id,
        description_key=description_key,
        customer_id=customer_id,
        item_kind=item_kind,
        period=period,
        quantity=quantity,
        unit_price=unit_price,
        amount=round_half_up_to_cent(exact),
        sources=sources,
        proration=proration,
        description_params=tuple(sorted((params or {}).items())),
        vat=vat,
    )
