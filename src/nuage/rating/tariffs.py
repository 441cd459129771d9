"""Versioned destination tariffs (RAT-2): per-minute prices by E.164 prefix, longest prefix wins.

A ``Tariff`` is one version of a price list, valid over ``[valid_from, valid_to)``. Besides its
per-minute price, a prefix may carry ``RateTerms``: a description, a connection fee and a
minimum charge per call (decision: both apply to a call's charged part only, before the RAT-1
rounding up to the cent; a call wholly inside a pack or of 0 seconds costs nothing).
A ``TariffBook`` holds the versions of one price list (for one rating run) and
answers "which version was valid at this instant". Both precompute their look-ups
at construction so that rating a call costs a few dict probes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from nuage.errors import InvalidInput
from nuage.rating.cdr import destination_digits
from nuage.rating.errors import NoRateForDestination, NoTariffVersion
from nuage.shared.clock import require_aware
from nuage.shared.money import ZERO

_MEMO_LIMIT = 1 << 16


@dataclass(frozen=True)
class Rate:
    """RAT-2: the price matched for a destination: the prefix (digits) and its per-minute price.

    ``prices`` memoises the RAT-1 price of a number of charged seconds at this rate (the rater
    fills it through ``rater.call_price``): calls last a few thousand distinct durations, so a
    month of calls is priced with a few thousand Decimal divisions per rate instead of one per call.
    """

    prefix: str
    per_minute: Decimal
    connection_fee: Decimal = ZERO
    minimum: Decimal = ZERO
    prices: dict[int, tuple[Decimal, Decimal]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )


@dataclass(frozen=True)
class RateTerms:
    """RAT-2: what a prefix carries besides its per-minute price (all amounts ≥ 0)."""

    description: str = ""
    minimum: Decimal = ZERO  # the least a charged call costs, connection fee included
    connection_fee: Decimal = ZERO  # added to every charged call


def _amount(value: Decimal) -> bool:
    return isinstance(value, Decimal) and value.is_finite() and value >= 0


@dataclass(frozen=True, eq=False)
class Tariff:
    """RAT-2: one tariff version, valid over ``[valid_from, valid_to)``; ``valid_to=None`` is open-ended."""

    version: str
    valid_from: datetime
    per_minute_by_prefix: Mapping[str, Decimal]
    valid_to: datetime | None = None
    terms_by_prefix: Mapping[str, RateTerms] = field(default_factory=dict)
    _by_length: tuple[tuple[int, dict[str, Rate]], ...] = field(init=False, repr=False)
    _memo: dict[str, Rate] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        require_aware(self.valid_from)
        if self.valid_to is not None and require_aware(self.valid_to) <= self.valid_from:
            raise InvalidInput("valid_to", f"Tariff {self.version}: valid_to must follow valid_from")
        tables: dict[int, dict[str, Rate]] = {}
        for raw_prefix, price in self.per_minute_by_prefix.items():
            prefix = destination_digits(raw_prefix.strip())
            if not prefix.isdigit():
                raise InvalidInput("prefix", f"Tariff {self.version}: prefix {raw_prefix!r} is not digits")
            if not _amount(price):
                raise InvalidInput("per_minute", f"Tariff {self.version}: bad price for {raw_prefix!r}")
            terms = self.terms_by_prefix.get(raw_prefix, _NO_TERMS)
            if not (_amount(terms.minimum) and _amount(terms.connection_fee)):
                raise InvalidInput("minimum", f"Tariff {self.version}: bad fee for {raw_prefix!r}")
            rate = Rate(prefix, price, terms.connection_fee, terms.minimum)
            tables.setdefault(len(prefix), {})[prefix] = rate
        by_length = tuple(sorted(tables.items(), reverse=True))
        object.__setattr__(self, "_by_length", by_length)
        object.__setattr__(self, "_memo", {})

    def covers(self, at: datetime) -> bool:
        """RAT-2: whether this version is the one valid at ``at``."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def rate_for(self, destination: str) -> Rate:
        """RAT-2: longest-prefix match on the E.164 digits of ``destination``."""
        memo = self._memo
        rate = memo.get(destination)
        if rate is not None:
            return rate
        digits = destination_digits(destination)
        size = len(digits)
        for length, table in self._by_length:
            if length <= size:
                found = table.get(digits[:length])
                if found is not None:
                    if len(memo) >= _MEMO_LIMIT:
                        memo.clear()
                    memo[destination] = found
                    return found
        raise NoRateForDestination(destination, self.version)


_NO_TERMS = RateTerms()


class TariffBook:
    """RAT-2: the versions of one price list; a call is rated with the version valid at its start."""

    def __init__(self, versions: Iterable[Tariff]) -> None:
        ordered = sorted(versions, key=lambda tariff: tariff.valid_from)
        if not ordered:
            raise InvalidInput("versions", "A tariff book needs at least one version")
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                raise InvalidInput(
                    "valid_to",
                    f"Tariff versions {earlier.version} and {later.version} overlap",
                )
        self.versions: tuple[Tariff, ...] = tuple(ordered)
        self._starts = [tariff.valid_from for tariff in ordered]
        self._last = ordered[-1]

    def version_at(self, at: datetime) -> Tariff:
        """RAT-2: the tariff version valid at instant ``at`` (aware)."""
        last = self._last
        if last.valid_from <= at and (last.valid_to is None or at < last.valid_to):
            return last
        index = bisect.bisect_right(self._starts, at) - 1
        if index >= 0:
            candidate = self.versions[index]
            if candidate.valid_to is None or at < candidate.valid_to:
                self._last = candidate
                return candidate
        raise NoTariffVersion(at)
