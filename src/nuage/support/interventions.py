"""BIL-5: interventions billed on time and materials, from the support ticket they were logged on.

Work outside the trained installer's scope, or corrective work caused by the customer's own
changes, is logged on the ticket (SUP-1) as time and materials, and billed on the next invoice:
each line cites BIL-5 and the ticket (BIL-10). Time is billed per started quarter of an hour
(decision: the terms name time and materials, not the unit; a price-list setting could change it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.errors import InvalidInput

QUARTER_HOUR_MINUTES = 15
MAX_MINUTES = 24 * 60  # one logged intervention is at most a day's work


class InterventionReason(StrEnum):
    """BIL-5: why an intervention is billable."""

    OUTSIDE_INSTALLER_SCOPE = "outside_installer_scope"
    CUSTOMER_CHANGE = "customer_change"  # corrective work caused by the customer's own changes


@dataclass(frozen=True)
class Intervention:
    """BIL-5: time and materials logged on a ticket."""

    id: str
    ticket_id: str
    account_id: str
    reason: InterventionReason
    performed_on: date
    minutes: int
    hourly_rate: Decimal
    materials: tuple[tuple[str, Decimal], ...] = ()  # (description, price)

    def __post_init__(self) -> None:
        if not 1 <= self.minutes <= MAX_MINUTES:
            raise InvalidInput("minutes", f"An intervention lasts 1 to {MAX_MINUTES} minutes")
        if any(price < 0 for _, price in self.materials) or self.hourly_rate < 0:
            raise InvalidInput("materials", "Prices cannot be negative")


def billed_quarters(minutes: int) -> int:
    """BIL-5: started quarters of an hour."""
    return math.ceil(minutes / QUARTER_HOUR_MINUTES)


def intervention_lines(intervention: Intervention) -> list[InvoiceLine]:
    """BIL-5: the time line and one line per material, each citing the ticket (BIL-10)."""
    sources = (SourceRef("ticket", intervention.ticket_id), SourceRef("intervention", intervention.id))
    lines = [
        make_line(
            rule_id="BIL-5",
            description_key="intervention_time",
            customer_id=intervention.account_id,
            item_kind="intervention_time",
            period=None,
            quantity=Decimal(billed_quarters(intervention.minutes)) / 4,
            unit_price=intervention.hourly_rate,
            sources=sources,
            params={"ticket": intervention.ticket_id, "reason": intervention.reason.value},
        )
    ]
    lines += [
        make_line(
            rule_id="BIL-5",
            description_key="intervention_material",
            customer_id=intervention.account_id,
            item_kind="intervention_material",
            period=None,
            quantity=Decimal(1),
            unit_price=price,
            sources=sources,
            params={"ticket": intervention.ticket_id, "material": description},
        )
        for description, price in intervention.materials
    ]
    return lines
