"""BIL-8: Telavox UCaaS resale: licences, features and add-ons billed as activated.

The terms (seed 001, Telavox §4): user licences, features and add-ons are added and removed by the
partner or the final customer, and billing follows what is activated on the platform; a shared
extension serves a terminal shared by several people (a meeting-room or corridor phone); in case
of abuse the operator may add licences and bill them retroactively to the contract start.
Alarm and lift lines stay out of the service (Telavox §2, as CFG-5 for Business Telephony).

Decisions, written here as SPEC asks:
* "billed as activated" is read per day: an item is billed for the days of the month it was
  active (activation day included, deactivation day excluded), pro rata on the month's days as
  BIL-2 prorates, at the month's run (the partner changes activations during the month, so the
  month is billed once it is known, as traffic is, BIL-3);
* an activation is billed only once the upstream provider confirmed it (``active_from``), never
  from the request;
* the abuse clause bills each missing licence for every month from the contract start to the
  month before the run, at the current price, on one line citing BIL-8 and its evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.directory.model import LinePurpose
from nuage.directory.rules import refuse_alarm_and_lift_lines
from nuage.errors import InvalidInput
from nuage.shared.month import Month


class UcaasKind(StrEnum):
    """BIL-8: what the catalogue sells."""

    LICENCE = "licence"  # a user licence
    SHARED_EXTENSION = "shared_extension"  # a terminal shared by several people
    FEATURE = "feature"
    ADDON = "addon"


@dataclass(frozen=True)
class CatalogueItem:
    """BIL-8: one priced item of the resale catalogue (price per month, excluding VAT)."""

    code: str
    kind: UcaasKind
    name: str
    monthly_price: Decimal


@dataclass(frozen=True)
class Activation:
    """BIL-8: a quantity of one item active for an account between two days (upstream-confirmed)."""

    id: str
    account_id: str
    item_code: str
    quantity: int
    active_from: date | None  # None: requested, not yet confirmed by the upstream provider
    active_until: date | None = None  # the deactivation day (not billed); None: still active

    def days_in(self, month: Month) -> int:
        """BIL-8: the days of ``month`` this activation was active (confirmed ones only)."""
        if self.active_from is None:
            return 0
        first = max(self.active_from, month.first_day)
        end = month.last_day + timedelta(days=1)
        if self.active_until is not None:
            end = min(end, self.active_until)
        return max(0, (end - first).days)


def check_activation(item: CatalogueItem, quantity: int, purpose: LinePurpose) -> None:
    """BIL-8: a positive, bounded quantity; no alarm or lift line (Telavox §2, as CFG-5)."""
    if not 1 <= quantity <= 10_000:
        raise InvalidInput("quantity", f"A quantity of {item.name} is 1 to 10,000")
    refuse_alarm_and_lift_lines(purpose, f"Telavox {item.kind.value}")


def activation_lines(
    activations: Iterable[Activation], catalogue: Mapping[str, CatalogueItem], month: Month
) -> list[InvoiceLine]:
    """BIL-8: one line per activation active in ``month``: quantity × price × active days / days."""
    lines: list[InvoiceLine] = []
    for activation in activations:
        days = activation.days_in(month)
        if days == 0:
            continue
        item = catalogue[activation.item_code]
        share = Fraction(days, month.days)
        lines.append(
            make_line(
                rule_id="BIL-8",
                description_key=f"ucaas_{item.kind.value}",
                customer_id=activation.account_id,
                item_kind=f"ucaas:{item.code}",
                period=month,
                quantity=Decimal(activation.quantity),
                unit_price=item.monthly_price,
                sources=(SourceRef("ucaas-activation", activation.id),),
                proration=None if share == 1 else share,
                params={"item": item.name},
            )
        )
    return lines


def retroactive_licences(
    *,
    account_id: str,
    licence: CatalogueItem,
    missing: int,
    contract_start: date,
    run_month: Month,
    evidence: str,
) -> InvoiceLine:
    """BIL-8 (abuse): ``missing`` licences billed from the contract start to the month before the run."""
    if licence.kind is not UcaasKind.LICENCE:
        raise InvalidInput("item", "Only user licences are added retroactively")
    if missing < 1:
        raise InvalidInput("missing", "At least one licence is missing to regularise")
    start = Month.of(contract_start)
    months = start.months_until(run_month)
    if months < 1:
        raise InvalidInput("contract_start", "The contract starts in the run's month: nothing to regularise")
    first_share = Fraction(start.days - contract_start.day + 1, start.days)  # BIL-2: the started month
    return make_line(
        rule_id="BIL-8",
        description_key="ucaas_retroactive_licences",
        customer_id=account_id,
        item_kind=f"ucaas:{licence.code}",
        period=None,
        quantity=Decimal(missing),
        unit_price=licence.monthly_price,
        sources=(SourceRef("ucaas-abuse", evidence),),
        proration=first_share + (months - 1),
        params={"item": licence.name, "from": contract_start.isoformat(), "to": str(run_month.previous())},
    )
