"""Traffic packs (CFG-11, RAT-3): minute or amount bundles consumed first, in call order.

A ``TrafficPack`` is the content of one pack an account holds (versioned, RAT-2:
pack contents may change without notice; the version valid at the call's start
applies). ``PackBalance`` is what has been used so far; storage keeps it between
rating batches. The rater (``rating.rater``) does the consuming.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from nuage.errors import InvalidInput
from nuage.rating.cdr import destination_digits
from nuage.shared.clock import require_aware
from nuage.shared.money import CENT, ZERO


class PackKind(StrEnum):
    """CFG-11: a pack holds either call minutes or an amount of money."""

    MINUTES = "minutes"
    AMOUNT = "amount"


@dataclass(frozen=True)
class TrafficPack:
    """CFG-11/RAT-3: one pack of an account, valid over ``[valid_from, valid_to)``."""

    pack_id: str
    account_id: str
    version: str
    kind: PackKind
    size: Decimal  # minutes (MINUTES) or euros (AMOUNT)
    valid_from: datetime
    valid_to: datetime | None = None
    # RAT-3 decision: a pack may be restricted to destination prefixes (e.g. national
    # only); the empty set covers every non-emergency destination.
    covered_prefixes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        require_aware(self.valid_from)
        if self.valid_to is not None:
            require_aware(self.valid_to)
        if self.size < 0:
            raise InvalidInput("size", f"Pack {self.pack_id}: size must not be negative")
        if self.kind is PackKind.MINUTES and self.size != self.size.to_integral_value():
            raise InvalidInput("size", f"Pack {self.pack_id}: a minute pack holds whole minutes")
        if self.kind is PackKind.AMOUNT and self.size != self.size.quantize(CENT):
            raise InvalidInput("size", f"Pack {self.pack_id}: an amount pack holds whole cents")
        object.__setattr__(
            self, "covered_prefixes", frozenset(destination_digits(p) for p in self.covered_prefixes)
        )

    @property
    def size_seconds(self) -> int:
        """RAT-3: the seconds a minute pack holds."""
        return int(self.size) * 60 if self.kind is PackKind.MINUTES else 0

    def active_at(self, at: datetime) -> bool:
        """RAT-3 decision: a call draws on a pack valid at the call's start (like RAT-2 tariffs)."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def covers_destination(self, destination: str) -> bool:
        """RAT-3: whether calls to ``destination`` may draw on this pack."""
        if not self.covered_prefixes:
            return True
        digits = destination_digits(destination)
        return any(digits.startswith(prefix) for prefix in self.covered_prefixes)


@dataclass(frozen=True)
class PackBalance:
    """RAT-3: what a pack has given so far (seconds for minute packs, euros for amount packs)."""

    pack_id: str
    used_seconds: int = 0
    used_amount: Decimal = ZERO
