"""Price plans and price lists (BIL-1, BIL-2, TEN-5): versioned data with validity dates.

A ``PriceList`` is one version of the prices of a plan for one audience:
``customer-retail`` (what a direct customer pays) or ``partner-wholesale``
(what the operator invoices a partner, TEN-5). It holds a recurring price per
counted item (``ItemKind``), the one-time fees (hardware, activation,
installation; interventions, carriage and port-out: BIL-5, HW-1, BIL-7), the
resale items' monthly prices (BIL-8) and the plan's settings (CAP-1 reading,
PAY-2 interest reading, run day). Prices may change without notice (RAT-2
spirit): a period is billed with the version valid on its first day, a one-time
fee with the version valid on the order date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from nuage.billing.charge_models import ChargeSpec
from nuage.billing.periods import DEFAULT_RUN_DAY
from nuage.errors import InvalidInput, NotFound
from nuage.payments.dunning import InterestMode
from nuage.terms.counting import ItemKind

CapacityReadingSetting = Literal["literal", "graduated"]
DEFAULT_PLAN_ID = "business"  # BIL-2: the plan of a party with none assigned (nor its partner)


class Audience(StrEnum):
    """TEN-5: whose prices: a customer's retail prices or a partner's wholesale prices."""

    CUSTOMER_RETAIL = "customer-retail"  # same value as rating.runs.RatingRun.CUSTOMER_RETAIL
    PARTNER_WHOLESALE = "partner-wholesale"  # same value as rating.runs.RatingRun.PARTNER_WHOLESALE


class OneTimeKind(StrEnum):
    """BIL-1: fees invoiced at order and payable in advance; and the price list's fees of one-off
    services, billed on the next invoice when they happen (BIL-5, HW-1, BIL-7)."""

    HARDWARE = "hardware"
    ACTIVATION = "activation"
    INSTALLATION = "installation"
    MEETING_ROOM = "meeting_room"  # BIL-6: a Web Meeting room's subscription, per month, prepaid at order
    INTERVENTION_HOUR = "intervention_hour"  # BIL-5: an hour of time and materials work
    RETURN_CARRIAGE = "return_carriage"  # HW-1: the carriage of a return out of warranty
    PORT_OUT = "port_out"  # BIL-7: porting one number out


@dataclass(frozen=True)
class PriceList:
    """BIL-2: one version of a plan's prices for one audience, valid over ``[valid_from, valid_to)``."""

    version: str
    audience: Audience
    valid_from: date
    recurring: Mapping[ItemKind, ChargeSpec]
    one_time: Mapping[OneTimeKind, Decimal] = field(default_factory=dict)
    valid_to: date | None = None
    # BIL-8: the monthly price of each resale catalogue item (Telavox) by its code; an item left out
    # keeps the catalogue's default price
    resale: Mapping[str, Decimal] = field(default_factory=dict)
    # CAP-1: the plan's reading of the capacity bands (``capacity_reading_of``, read by the call
    # policy and the capacity view for the customers billed with this plan).
    capacity_reading: CapacityReadingSetting = "literal"
    run_day: int = DEFAULT_RUN_DAY  # BIL-2: the day of the month the billing run happens
    # PAY-2: how "1 % per month of delay" is counted for the parties billed with this plan;
    # None: the operator's setting (``payments.interest_mode``).
    interest_reading: InterestMode | None = None

    def __post_init__(self) -> None:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise InvalidInput("valid_to", f"Price list {self.version}: valid_to must follow valid_from")
        if self.capacity_reading not in ("literal", "graduated"):
            raise InvalidInput("capacity_reading", f"Unknown CAP-1 reading {self.capacity_reading!r}")
        if not 1 <= self.run_day <= 31:
            raise InvalidInput("run_day", f"Not a day of the month: {self.run_day}")

    def valid_on(self, day: date) -> bool:
        """BIL-2: whether this version applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class PricePlan:
    """BIL-2: a commercial plan: its price lists, every version for every audience."""

    plan_id: str
    price_lists: tuple[PriceList, ...]

    def __post_init__(self) -> None:
        for audience in Audience:
            versions = sorted(
                (p for p in self.price_lists if p.audience is audience), key=lambda p: p.valid_from
            )
            for earlier, later in zip(versions, versions[1:], strict=False):
                if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                    raise InvalidInput(
                        "valid_to", f"Plan {self.plan_id}: {earlier.version} and {later.version} overlap"
                    )

    def price_list(self, audience: Audience, on: date) -> PriceList:
        """BIL-2/TEN-5: the version of ``audience``'s prices valid on ``on``."""
        for price_list in self.price_lists:
            if price_list.audience is audience and price_list.valid_on(on):
                return price_list
        raise NotFound("price list", f"{self.plan_id}/{audience.value}@{on.isoformat()}")


def plan_id_for(party_id: str, partner_id: str | None, assignments: Mapping[str, str], default: str) -> str:
    """BIL-2: the plan a party is billed with: its own, else its partner's, else the default plan."""
    plan_id = assignments.get(party_id)
    if plan_id is None and partner_id is not None:
        plan_id = assignments.get(partner_id)
    return plan_id or default


def plan_from_lists(plan_id: str, price_lists: Iterable[PriceList]) -> PricePlan:
    """BIL-2: a plan from its price lists (any order)."""
    return PricePlan(plan_id, tuple(sorted(price_lists, key=lambda p: (p.audience.value, p.valid_from))))
