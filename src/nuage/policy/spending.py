"""SIP-5: an outbound spending (fraud) cap per account and per Brussels business day.

The operator may set ``daily_spend_cap`` on an account (EUR excl. VAT). The policy keeps, in
memory, what each account's outbound calls have cost today, priced as the rater prices them
(``nuage.rating``): the customers' retail tariff version valid at the call's start, the longest
prefix of the E.164 destination, per second, rounded up to the cent per call (RAT-1, RAT-2).
Traffic packs are not deducted: the cap measures the value of the traffic, which is what stolen
credentials burn through a pack too. Emergency calls are free and never refused nor cut (EMG-4):
the policy does not ask this module about them. Internal and inbound calls cost nothing here.

Decision: **the budget is reserved per call in progress**, so that concurrent calls cannot spend
it twice. A call is authorised only if the account's budget left today (cap − spent − reserved
by its calls in progress) buys at least two seconds to its destination; it then gets a
``max_duration`` of the seconds that budget buys, minus one (the billed duration is rounded up
to the next second), at most the platform's call ceiling, and reserves the price of that
duration plus one second. When it ends, its reservation is replaced by its real price. So the
day's spend never passes the cap, and an account with a generous cap is not slowed: a call only
reserves what the call ceiling (4 h by default) could cost. A call whose destination no tariff
prices cannot be bounded, so it is refused for an account with a cap (and not counted for
others).

At start, the spend of the day so far is restored from today's CDRs (``restore``), priced the
same way. With several SIP nodes each node counts the calls it handles on top of that restored
spend: the cap then holds per node (see the README's limits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from nuage.errors import RatingError
from nuage.rating.rater import call_price
from nuage.rating.tariffs import TariffBook
from nuage.shared.clock import Clock, business_date
from nuage.shared.money import ZERO
from nuage.sip.ports import Refusal

SIXTY = Decimal(60)


@dataclass(frozen=True, slots=True)
class _Grant:
    account_id: str
    day: date
    per_minute: Decimal
    reserved: Decimal


def price_of(tariffs: TariffBook, destination: str, started_at: datetime, billable_seconds: int) -> Decimal:
    """RAT-1/RAT-2: the rounded price of a call, as the rater computes it (raises RatingError)."""
    rate = tariffs.version_at(started_at).rate_for(destination)
    return call_price(billable_seconds, rate.per_minute, rate.connection_fee, rate.minimum)[1]


class DailySpend:
    """SIP-5: today's outbound spend per account, in memory, with per-call reservations."""

    def __init__(self, clock: Clock, *, max_call_s: float | None = None) -> None:
        self._clock = clock
        self._max_call_s = max_call_s
        self._day: date | None = None
        self._spent: dict[str, Decimal] = {}
        self._reserved: dict[str, Decimal] = {}
        self._grants: dict[str, list[_Grant]] = {}

    def _today(self) -> date:
        today = business_date(self._clock.now())
        if today != self._day:
            self._day = today
            self._spent = {}
            self._reserved = {}
        return today

    # -- reading ---------------------------------------------------------------------------------
    def spent(self, account_id: str) -> Decimal:
        """What the account's ended outbound calls cost today."""
        self._today()
        return self._spent.get(account_id, ZERO)

    def reserved(self, account_id: str) -> Decimal:
        """What the account's outbound calls in progress have reserved today."""
        self._today()
        return self._reserved.get(account_id, ZERO)

    def restore(self, day: date, spent: Mapping[str, Decimal]) -> None:
        """At start: the spend of ``day`` so far (from its CDRs); ignored if ``day`` is not today."""
        if day == self._today():
            for account_id, amount in spent.items():
                self._spent[account_id] = self._spent.get(account_id, ZERO) + amount

    # -- the decision ----------------------------------------------------------------------------
    def grant(
        self,
        call_id: str,
        account_id: str,
        destination: str,
        *,
        cap: Decimal | None,
        tariffs: TariffBook | None,
    ) -> Refusal | timedelta | None:
        """A refusal citing SIP-5, the longest the call may last, or None (no limit from SIP-5)."""
        today = self._today()
        per_minute: Decimal | None = None
        if tariffs is not None:
            try:
                per_minute = tariffs.version_at(self._clock.now()).rate_for(destination).per_minute
            except RatingError:
                per_minute = None
        if cap is None:
            if per_minute is not None:  # counted, for a cap the operator may set later today
                self._grants.setdefault(call_id, []).append(_Grant(account_id, today, per_minute, ZERO))
            return None
        available = cap - self._spent.get(account_id, ZERO) - self._reserved.get(account_id, ZERO)
        if available <= 0:
            return Refusal("SIP-5", f"daily spending cap of {cap} EUR reached")
        if per_minute is None:
            return Refusal("SIP-5", "no tariff prices this destination; the account has a daily spending cap")
        if per_minute == 0:
            self._grants.setdefault(call_id, []).append(_Grant(account_id, today, per_minute, ZERO))
            return None
        affordable = int((available * SIXTY / per_minute).to_integral_value(rounding=ROUND_FLOOR))
        seconds = affordable - 1  # the billed duration is rounded up to the next second
        ceiling = math.floor(self._max_call_s) if self._max_call_s else None
        limited = ceiling is None or seconds < ceiling
        if not limited and ceiling is not None:
            seconds = ceiling
        if seconds < 1:
            return Refusal("SIP-5", f"daily spending cap of {cap} EUR reached")
        reserved = call_price(seconds + 1, per_minute)[1]
        self._reserved[account_id] = self._reserved.get(account_id, ZERO) + reserved
        self._grants.setdefault(call_id, []).append(_Grant(account_id, today, per_minute, reserved))
        return timedelta(seconds=seconds) if limited else None

    def cancel(self, call_id: str) -> None:
        """The latest grant of ``call_id`` was not used (the call was refused after all)."""
        grants = self._grants.get(call_id)
        if not grants:
            return
        grant = grants.pop()
        if not grants:
            del self._grants[call_id]
        self._unreserve(grant)

    def ended(self, call_id: str, billable_seconds: int) -> Decimal:
        """The oldest granted authorisation of ``call_id`` ended: its price is spent; returned."""
        grants = self._grants.get(call_id)
        if not grants:
            return ZERO
        grant = grants.pop(0)
        if not grants:
            del self._grants[call_id]
        self._unreserve(grant)
        price = call_price(billable_seconds, grant.per_minute)[1] if billable_seconds > 0 else ZERO
        if grant.day == self._day and price:
            self._spent[grant.account_id] = self._spent.get(grant.account_id, ZERO) + price
        return price

    def _unreserve(self, grant: _Grant) -> None:
        self._today()
        if grant.reserved and grant.day == self._day:
            left = self._reserved.get(grant.account_id, ZERO) - grant.reserved
            if left > 0:
                self._reserved[grant.account_id] = left
            else:
                self._reserved.pop(grant.account_id, None)
