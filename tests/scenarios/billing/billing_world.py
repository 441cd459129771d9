"""A small commercial world for billing scenarios: one plan, tariffs, parties, helpers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from nuage.billing.charge_models import ChargeSpec
from nuage.billing.invoices import InvoiceDraft
from nuage.billing.plans import Audience, OneTimeKind, PriceList, PricePlan, plan_from_lists
from nuage.billing.vat import BillingParty, PartyKind
from nuage.rating.tariffs import Tariff, TariffBook
from nuage.shared.clock import BUSINESS_TZ, FrozenClock
from nuage.terms.counting import ItemKind

USERS = ItemKind.BILLABLE_USERS
NATIONAL = ItemKind.NATIONAL_NUMBERS
INTERNATIONAL = ItemKind.INTERNATIONAL_NUMBERS
PACKS = ItemKind.TRAFFIC_PACKS


def per_unit(price: str) -> ChargeSpec:
    return ChargeSpec(unit_price=Decimal(price))


RETAIL = PriceList(
    version="retail-2024",
    audience=Audience.CUSTOMER_RETAIL,
    valid_from=date(2024, 1, 1),
    recurring={
        USERS: per_unit("19.95"),
        NATIONAL: per_unit("2.00"),
        INTERNATIONAL: per_unit("5.00"),
        PACKS: per_unit("10.00"),
    },
    one_time={
        OneTimeKind.ACTIVATION: Decimal("50.00"),
        OneTimeKind.INSTALLATION: Decimal("120.00"),
        OneTimeKind.HARDWARE: Decimal("150.00"),
    },
)
WHOLESALE = PriceList(
    version="wholesale-2024",
    audience=Audience.PARTNER_WHOLESALE,
    valid_from=date(2024, 1, 1),
    recurring={USERS: per_unit("15.00"), NATIONAL: per_unit("1.50"), INTERNATIONAL: per_unit("4.00")},
    one_time={OneTimeKind.ACTIVATION: Decimal("30.00")},
    capacity_reading="graduated",
)
PLAN: PricePlan = plan_from_lists("business", [RETAIL, WHOLESALE])


def brussels(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BUSINESS_TZ)


def clock_at(day: date) -> FrozenClock:
    return FrozenClock(brussels(day.year, day.month, day.day, 6))


RETAIL_TARIFFS = TariffBook(
    [
        Tariff(
            "retail-t1",
            brussels(2024, 1, 1, 0),
            {"32": Decimal("0.05"), "324": Decimal("0.15")},
            valid_to=brussels(2025, 2, 15, 0),
        ),
        Tariff("retail-t2", brussels(2025, 2, 15, 0), {"32": Decimal("0.06"), "324": Decimal("0.18")}),
    ]
)
WHOLESALE_TARIFFS = TariffBook([Tariff("wholesale-t1", brussels(2024, 1, 1, 0), {"32": Decimal("0.03")})])


def direct(party_id: str, country: str = "BE", vat_number: str | None = "BE0123456749") -> BillingParty:
    return BillingParty(party_id, party_id.title(), PartyKind.DIRECT_CUSTOMER, country, vat_number)


PARTNER = BillingParty("installer", "Installer SRL", PartyKind.PARTNER, "BE", "BE0987654321")


def amounts(draft: InvoiceDraft) -> list[tuple[str, str, str, str, Decimal, Decimal, Decimal]]:
    """(rule, customer, kind, period, quantity, unit price, amount) of every line."""
    return [
        (
            line.rule_id,
            line.customer_id,
            line.item_kind,
            str(line.period),
            line.quantity,
            line.unit_price,
            line.amount,
        )
        for line in draft.lines
    ]


def counts(values: Mapping[ItemKind, int]) -> dict[ItemKind, Decimal]:
    return {kind: Decimal(value) for kind, value in values.items()}
