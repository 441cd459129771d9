"""Charge models (BIL-2): how a recurring price turns units into money, as strategies.

A model splits the units into ``ChargePart``s (units × unit price); each part
becomes one invoice line, so that quantity × unit price = amount on every line
(BIL-10: the customer can check it). ``charge_model(spec)`` is the factory that
picks the model from price-plan data, as Lago's ``ChargeModels::Factory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from nuage.errors import InvalidInput
from nuage.shared.money import ZERO


@dataclass(frozen=True)
class ChargePart:
    """BIL-10: one slice of a charge: so many units at one unit price (a flat fee is 1 × fee)."""

    units: Decimal
    unit_price: Decimal
    tier: int | None = None  # index of the tier, for the line's description
    flat: bool = False


class ChargeModel(Protocol):
    """BIL-2: turns a counted quantity into priced parts."""

    def parts(self, units: Decimal) -> tuple[ChargePart, ...]: ...


def charge_amount(model: ChargeModel, units: Decimal) -> Decimal:
    """BIL-2: the exact amount a model charges for ``units`` (sum of its parts)."""
    return sum((part.units * part.unit_price for part in model.parts(units)), ZERO)


@dataclass(frozen=True)
class PerUnit:
    """BIL-2: the standard model: every unit at the same price."""

    unit_price: Decimal

    def parts(self, units: Decimal) -> tuple[ChargePart, ...]:
        """BIL-2: one part, all units at ``unit_price``."""
        return (ChargePart(units, self.unit_price),) if units > 0 else ()


@dataclass(frozen=True)
class Tier:
    """BIL-2: one tier of a tiered price: units up to ``up_to`` (inclusive; None: unbounded)."""

    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = ZERO


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers or tiers[-1].up_to is not None:
        raise InvalidInput("tiers", "The last tier must be unbounded (up_to=None)")
    bounds = [tier.up_to for tier in tiers[:-1]]
    if any(bound is None for bound in bounds) or bounds != sorted(bounds):  # type: ignore[type-var]
        raise InvalidInput("tiers", "Tier bounds must be increasing")


@dataclass(frozen=True)
class Graduated:
    """BIL-2: each unit priced by the tier it falls in; a tier's flat fee is due once it is reached."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        _check_tiers(self.tiers)

    def parts(self, units: Decimal) -> tuple[ChargePart, ...]:
        """BIL-2: one part per tier reached, plus its flat fee."""
        parts: list[ChargePart] = []
        lower = ZERO
        for index, tier in enumerate(self.tiers):
            if units <= lower:
                break
            upper = units if tier.up_to is None else min(units, tier.up_to)
            if tier.flat_fee:
                parts.append(ChargePart(Decimal(1), tier.flat_fee, index, flat=True))
            parts.append(ChargePart(upper - lower, tier.unit_price, index))
            if tier.up_to is None:
                break
            lower = tier.up_to
        return tuple(parts)


@dataclass(frozen=True)
class Volume:
    """BIL-2: the tier the total falls in prices every unit (Lago's volume model)."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        _check_tiers(self.tiers)

    def parts(self, units: Decimal) -> tuple[ChargePart, ...]:
        """BIL-2: all units at the price of the total's tier, plus that tier's flat fee."""
        if units <= 0:
            return ()
        for index, tier in enumerate(self.tiers):
            if tier.up_to is None or units <= tier.up_to:
                flat = (ChargePart(Decimal(1), tier.flat_fee, index, flat=True),) if tier.flat_fee else ()
                return (*flat, ChargePart(units, tier.unit_price, index))
        raise AssertionError("the last tier is unbounded")  # pragma: no cover


class ChargeModelKind(StrEnum):
    """BIL-2: the charge models a price list may name."""

    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"


@dataclass(frozen=True)
class ChargeSpec:
    """BIL-2: a recurring price as price-list data: the model and its parameters."""

    model: ChargeModelKind = ChargeModelKind.PER_UNIT
    unit_price: Decimal = ZERO
    tiers: tuple[Tier, ...] = ()

    @property
    def base_unit_price(self) -> Decimal:
        """BIL-2: the price of one unit in the first tier (used to price BIL-11 extras)."""
        return self.unit_price if self.model is ChargeModelKind.PER_UNIT else self.tiers[0].unit_price


def charge_model(spec: ChargeSpec) -> ChargeModel:
    """BIL-2: build the charge model a price list names."""
    match spec.model:
        case ChargeModelKind.PER_UNIT:
            return PerUnit(spec.unit_price)
        case ChargeModelKind.GRADUATED:
            return Graduated(spec.tiers)
        case ChargeModelKind.VOLUME:
            return Volume(spec.tiers)
