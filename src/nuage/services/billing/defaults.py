"""Default commercial data (RAT-2, BIL-1, BIL-2, TEN-5): tariffs and the "business" price plan.

Tariffs and price lists are versioned data, not settings: this module holds the first
versions a new platform starts with. ``load_billing_defaults`` stores whichever of them is
missing (looked up by run/plan, audience and version), so running it twice changes nothing;
a new version is added by appending a ``Tariff`` or a ``PriceList`` with a later validity.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from nuage.billing.charge_models import ChargeSpec
from nuage.billing.plans import DEFAULT_PLAN_ID, Audience, OneTimeKind, PriceList
from nuage.rating.runs import RatingRun
from nuage.rating.tariffs import Tariff
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.shared.clock import BUSINESS_TZ, Clock
from nuage.terms.counting import ItemKind

_VALID_FROM = datetime(2025, 1, 1, tzinfo=BUSINESS_TZ)


def _prices(values: dict[str, str]) -> dict[str, Decimal]:
    return {prefix: Decimal(price) for prefix, price in values.items()}


# RAT-2: per-minute prices by E.164 prefix (digits), longest prefix wins.
DEFAULT_TARIFFS: dict[RatingRun, tuple[Tariff, ...]] = {
    RatingRun.CUSTOMER_RETAIL: (
        Tariff(
            "retail-2025-01",
            _VALID_FROM,
            _prices(
                {
                    "32": "0.05",  # Belgium, fixed
                    "324": "0.15",  # Belgium, mobile
                    "31": "0.08",
                    "33": "0.08",
                    "352": "0.08",
                    "49": "0.08",
                    "44": "0.10",
                    "1": "0.06",
                }
            ),
        ),
    ),
    RatingRun.PARTNER_WHOLESALE: (
        Tariff(
            "wholesale-2025-01",
            _VALID_FROM,
            _prices(
                {
                    "32": "0.03",
                    "324": "0.10",
                    "31": "0.05",
                    "33": "0.05",
                    "352": "0.05",
                    "49": "0.05",
                    "44": "0.07",
                    "1": "0.04",
                }
            ),
        ),
    ),
}


def _per_unit(price: str) -> ChargeSpec:
    return ChargeSpec(unit_price=Decimal(price))


# BIL-2: monthly prices per counted item; BIL-1: one-time fees. Retail for direct customers,
# wholesale for partners (TEN-5).
#: BIL-5, HW-1, BIL-7 decision: the terms name the fees, not their amounts; the operator's defaults
#: (excluding VAT), the same for a partner until its price list says otherwise
SERVICE_FEES: dict[OneTimeKind, Decimal] = {
    OneTimeKind.INTERVENTION_HOUR: Decimal("85.00"),
    OneTimeKind.RETURN_CARRIAGE: Decimal("15.00"),
    OneTimeKind.PORT_OUT: Decimal("25.00"),
}

#: BIL-8: the Telavox items' monthly prices (seed 001 §4 gives none: the operator's defaults)
RESALE_PRICES: dict[str, Decimal] = {
    "tvx-user": Decimal("19.00"),
    "tvx-shared": Decimal("9.00"),
    "tvx-queue": Decimal("12.00"),
    "tvx-record": Decimal("6.00"),
    "tvx-teams": Decimal("5.00"),
}

DEFAULT_PRICE_LISTS: tuple[PriceList, ...] = (
    PriceList(
        version="retail-2025-01",
        audience=Audience.CUSTOMER_RETAIL,
        valid_from=date(2025, 1, 1),
        recurring={
            ItemKind.BILLABLE_USERS: _per_unit("19.95"),
            ItemKind.NATIONAL_NUMBERS: _per_unit("2.00"),
            ItemKind.INTERNATIONAL_NUMBERS: _per_unit("5.00"),
            ItemKind.VIRTUAL_FAXES: _per_unit("3.00"),
            ItemKind.CONFERENCE_ROOMS: _per_unit("5.00"),
            ItemKind.WEB_CHANNELS: _per_unit("10.00"),
            ItemKind.TRAFFIC_PACKS: _per_unit("10.00"),
            ItemKind.RECORDING_GB: _per_unit("0.50"),
            ItemKind.TRUNK_CHANNELS: _per_unit("12.50"),  # SIP-3: per subscribed channel
        },
        one_time={
            OneTimeKind.ACTIVATION: Decimal("50.00"),
            OneTimeKind.INSTALLATION: Decimal("120.00"),
            OneTimeKind.HARDWARE: Decimal("150.00"),
            OneTimeKind.MEETING_ROOM: Decimal("25.00"),  # BIL-6: per room and month
            **SERVICE_FEES,
        },
        resale=dict(RESALE_PRICES),
    ),
    PriceList(
        version="wholesale-2025-01",
        audience=Audience.PARTNER_WHOLESALE,
        valid_from=date(2025, 1, 1),
        recurring={
            ItemKind.BILLABLE_USERS: _per_unit("15.00"),
            ItemKind.NATIONAL_NUMBERS: _per_unit("1.50"),
            ItemKind.INTERNATIONAL_NUMBERS: _per_unit("4.00"),
            ItemKind.VIRTUAL_FAXES: _per_unit("2.00"),
            ItemKind.CONFERENCE_ROOMS: _per_unit("3.50"),
            ItemKind.WEB_CHANNELS: _per_unit("7.00"),
            ItemKind.TRAFFIC_PACKS: _per_unit("7.00"),
            ItemKind.RECORDING_GB: _per_unit("0.30"),
            ItemKind.TRUNK_CHANNELS: _per_unit("9.00"),  # SIP-3: per subscribed channel
        },
        one_time={
            OneTimeKind.ACTIVATION: Decimal("30.00"),
            OneTimeKind.INSTALLATION: Decimal("90.00"),
            OneTimeKind.HARDWARE: Decimal("110.00"),
            OneTimeKind.MEETING_ROOM: Decimal("18.00"),  # BIL-6: per room and month
            **SERVICE_FEES,
        },
        resale=dict(RESALE_PRICES),
    ),
)


def load_billing_defaults(uow: BillingUnitOfWork, clock: Clock) -> int:
    """RAT-2/BIL-2: store the default tariffs and price lists that are missing; return how many."""
    store = uow.billing
    now = clock.now()
    created = 0
    for run, versions in DEFAULT_TARIFFS.items():
        for tariff in versions:
            if not store.has_tariff(run.value, tariff.version):
                store.add_tariff(run.value, tariff, now)
                created += 1
    for price_list in DEFAULT_PRICE_LISTS:
        if not store.has_price_list(DEFAULT_PLAN_ID, price_list.audience, price_list.version):
            store.add_price_list(DEFAULT_PLAN_ID, price_list, now)
            created += 1
    return created
