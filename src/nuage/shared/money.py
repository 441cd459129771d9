"""Money as Decimal, with the rounding helpers the rules name (RAT-1: up to the cent, per call)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)
CURRENCY = "EUR"


def round_up_to_cent(amount: Decimal) -> Decimal:
    """RAT-1: round a call's exact price up to the next cent."""
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def round_half_up_to_cent(amount: Decimal) -> Decimal:
    """Commercial rounding for invoice totals and VAT (half up, to the cent)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal) -> int:
    """Minor units (cents) of an amount already rounded to the cent."""
    quantized = amount.quantize(CENT)
    if quantized != amount:
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(quantized * 100)


def from_minor(minor: int) -> Decimal:
    """The amount of a number of minor units (cents)."""
    return (Decimal(minor) / 100).quantize(CENT)
