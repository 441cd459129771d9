"""Counts that catch up (CNT-2): an increase billed late is billed for the month it was missed.

The terms bill recurring services in advance, at the run of period P "around the 28th" (BIL-2),
and increases "apply at the month-end count" (CNT-2). On the 28th, P's month-end count does not
exist yet, so the run bills P+1 from the latest frozen count, the one of P-1. An increase made
during P-1 after its run is in P-1's month-end count, which should have priced month P; P was
already invoiced from P-2's count. Without a catch-up, the increase would first be billed for
P+1: two months late, silently.

CNT-2 decision: the run that first bills from the month-end count of month C (normally the run
of C+1) also bills, for month C+1 when it was already invoiced, the units that count adds to what
was invoiced for C+1: one ``CNT-2`` line per priced part of the difference, citing the count.
Only increases catch up; a decrease applies from the next month billed (and CNT-3 bounds users).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from nuage.billing.charge_models import ChargePart, charge_model
from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.plans import PriceList
from nuage.shared.month import Month
from nuage.terms.counting import ItemKind


def _by_part(parts: tuple[ChargePart, ...]) -> dict[tuple[int | None, Decimal, bool], Decimal]:
    found: dict[tuple[int | None, Decimal, bool], Decimal] = {}
    for part in parts:
        key = (part.tier, part.unit_price, part.flat)
        found[key] = found.get(key, Decimal(0)) + part.units
    return found


def catch_up_lines(
    *,
    customer_id: str,
    month: Month,
    counted: Mapping[ItemKind, Decimal],
    billed: Mapping[str, Decimal],
    prices: PriceList,
    sources: Mapping[ItemKind, SourceRef],
    counted_in: Month,
) -> list[InvoiceLine]:
    """CNT-2: the lines that bring ``month``, already invoiced with ``billed`` units per item, up to
    the month-end count of ``counted_in`` (the month before ``month``)."""
    lines: list[InvoiceLine] = []
    for kind, spec in prices.recurring.items():
        now = counted.get(kind, Decimal(0))
        before = billed.get(kind.value, Decimal(0))
        if now <= before:
            continue  # CNT-2: only increases catch up
        model = charge_model(spec)
        was = _by_part(model.parts(before))
        for (tier, unit_price, flat), units in sorted(
            _by_part(model.parts(now)).items(), key=lambda item: (item[0][0] or 0, item[0][2])
        ):
            delta = units - was.pop((tier, unit_price, flat), Decimal(0))
            if delta != 0:
                lines.append(_line(customer_id, month, kind, delta, unit_price, sources, counted_in, flat))
        for (_, unit_price, flat), units in was.items():  # a volume tier left: its units credited
            lines.append(_line(customer_id, month, kind, -units, unit_price, sources, counted_in, flat))
    return lines


def _line(
    customer_id: str,
    month: Month,
    kind: ItemKind,
    units: Decimal,
    unit_price: Decimal,
    sources: Mapping[ItemKind, SourceRef],
    counted_in: Month,
    flat: bool,
) -> InvoiceLine:
    return make_line(
        rule_id="CNT-2",
        description_key="line.recurring.flat_fee" if flat else f"line.catch_up.{kind.value}",
        customer_id=customer_id,
        item_kind=kind.value,
        period=month,
        quantity=units,
        unit_price=unit_price,
        sources=(sources[kind],),
        params={"period": str(month), "counted_in": str(counted_in)},
    )
