"""The rater (RAT-1, RAT-2, RAT-3): CDRs in, cost records out.

Entry point for storage and the CLI::

    outcome = rate_calls(cdrs, book, run="customer-retail", packs=packs,
                         balances=balances, already_rated=rated_ids)
    # outcome.rated: new RatedCall records, in call order when packs apply
    # outcome.skipped_ids: CDR ids already rated in this run (idempotency)
    # outcome.failures: CDRs that could not be priced (no tariff, no prefix)
    # outcome.balances: pack balances to store for the next batch

Each ``RatedCall`` is a cost record in the manner of CGRateS: the prefix matched,
the tariff version, the seconds billed, the exact amount and the amount rounded
up to the cent (RAT-1). A CDR is rated at most once per run: ids already rated
(``already_rated``) or seen earlier in the batch are skipped, never priced again.

Speed: tariff look-ups are precomputed dicts by prefix length (``rating.tariffs``), and a batch
keeps the version of its last call and that version's rates by destination (most calls of a
batch fall in one version and go to a few destinations: no method call for them),
the RAT-1 price of each (rate, charged seconds) is computed once and memoised on the rate
(``call_price`` is pure), cost records are ``NamedTuple``s, and the Decimal context is set once
per batch.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, localcontext
from typing import NamedTuple

from nuage.errors import RatingError
from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackBalance, PackKind, TrafficPack
from nuage.rating.tariffs import Rate, Tariff, TariffBook
from nuage.shared.money import CENT, ZERO

# Enough digits that ppm × seconds / 60 is never cut before the cent: the quotient is
# either exact or a repeating 3/6 tail, so ROUND_CEILING on it is the exact RAT-1 ceiling.
_CONTEXT = Context(prec=34)
_SIXTY = Decimal(60)
_NOT_YET = datetime.max.replace(tzinfo=UTC)
_PRICES_KEPT = 1 << 14  # per rate: the RAT-1 prices of this many distinct durations are memoised
_RATES_KEPT = 1 << 16  # per tariff version and batch: the rates of this many destinations


class RatedCall(NamedTuple):
    """RAT-1/RAT-2: the cost record of one CDR in one rating run."""

    cdr_id: str
    account_id: str
    run: str
    started_at: datetime
    destination: str
    prefix: str  # digits matched (RAT-2); "" for emergency calls
    tariff_version: str  # "" for emergency calls
    billable_seconds: int
    pack_seconds: int  # seconds covered by packs (RAT-3), free
    charged_seconds: int  # billable_seconds - pack_seconds, priced per second (RAT-1)
    per_minute: Decimal
    exact_amount: Decimal  # per_minute × charged_seconds / 60, unrounded
    amount: Decimal  # RAT-1: exact_amount rounded up to the next cent
    pack_ids: tuple[str, ...]
    emergency: bool  # RAT-3: free
    itemised: bool  # RAT-3: emergency calls are not itemised on invoices


class RatingFailure(NamedTuple):
    """RAT-2: a CDR that could not be priced, with the reason."""

    cdr_id: str
    error: RatingError


@dataclass(frozen=True)
class RatingOutcome:
    """RAT-1..3: what one rating pass produced; storage stores ``rated`` and ``balances``."""

    rated: tuple[RatedCall, ...]
    skipped_ids: tuple[str, ...]
    failures: tuple[RatingFailure, ...]
    balances: Mapping[str, PackBalance]


def call_price(
    charged_seconds: int, per_minute: Decimal, connection_fee: Decimal = ZERO, minimum: Decimal = ZERO
) -> tuple[Decimal, Decimal]:
    """RAT-1: (exact, rounded) price of a call priced per second, rounded up to the next cent.

    RAT-2: a charged call (``charged_seconds`` > 0) also pays its prefix's connection fee and
    costs at least its minimum; the total is what is rounded up."""
    with localcontext(_CONTEXT):
        exact = per_minute * charged_seconds / _SIXTY
        if charged_seconds > 0 and (connection_fee or minimum):
            exact = max(exact + connection_fee, minimum)
        return exact, exact.quantize(CENT, rounding=ROUND_CEILING)


def _packs_by_account(packs: Iterable[TrafficPack]) -> dict[str, list[TrafficPack]]:
    by_account: dict[str, list[TrafficPack]] = {}
    for pack in packs:
        by_account.setdefault(pack.account_id, []).append(pack)
    for account_packs in by_account.values():
        # RAT-3 decision: when several packs apply, the one that expires first is drawn first.
        account_packs.sort(key=lambda p: (p.valid_to is None, p.valid_to or p.valid_from, p.pack_id))
    return by_account


def _draw_from_packs(
    account_packs: list[TrafficPack],
    work: dict[str, list[Decimal]],
    cdr: Cdr,
    seconds: int,
    per_minute: Decimal,
) -> tuple[int, tuple[str, ...]]:
    """RAT-3: take up to ``seconds`` from the account's packs; return (covered seconds, packs used)."""
    remaining = seconds
    used: list[str] = []
    for pack in account_packs:
        if remaining == 0:
            break
        if not pack.active_at(cdr.started_at) or not pack.covers_destination(cdr.destination):
            continue
        state = work.setdefault(pack.pack_id, [ZERO, ZERO])
        if pack.kind is PackKind.MINUTES:
            available = pack.size_seconds - int(state[0])
            take = min(available, remaining)
            if take <= 0:
                continue
            state[0] += take
        else:
            if per_minute == 0:
                continue  # a free call draws nothing from an amount pack
            available_amount = pack.size - state[1]
            if available_amount <= 0:
                continue
            affordable = int((available_amount * _SIXTY / per_minute).to_integral_value(ROUND_FLOOR))
            take = min(affordable, remaining)
            if take <= 0:
                continue
            # RAT-3 decision: an amount pack is debited with the RAT-1 price of the seconds it
            # covers (rounded up per call); the seconds it cannot afford are priced per RAT-1.
            state[0] += take
            state[1] += (per_minute * take / _SIXTY).quantize(CENT, rounding=ROUND_CEILING)
        remaining -= take
        used.append(pack.pack_id)
    return seconds - remaining, tuple(used)


def rate_calls(
    cdrs: Iterable[Cdr],
    tariffs: TariffBook,
    *,
    run: str,
    packs: Sequence[TrafficPack] = (),
    balances: Mapping[str, PackBalance] | None = None,
    already_rated: Container[str] = frozenset(),
) -> RatingOutcome:
    """RAT-1..3: rate a batch of CDRs in one run; each CDR id is rated at most once."""
    packs_by_account = _packs_by_account(packs)
    ordered: Iterable[Cdr] = cdrs
    if packs_by_account:
        # RAT-3: packs are consumed in call order, whatever order the CDRs arrive in.
        ordered = sorted(cdrs, key=lambda cdr: (cdr.started_at, cdr.cdr_id))
    work: dict[str, list[Decimal]] = {
        pack_id: [Decimal(balance.used_seconds), balance.used_amount]
        for pack_id, balance in (balances or {}).items()
    }
    rated: list[RatedCall] = []
    skipped: list[str] = []
    failures: list[RatingFailure] = []
    seen: set[str] = set()
    append = rated.append
    no_packs: tuple[str, ...] = ()
    record = tuple.__new__  # a NamedTuple from all its fields, without the Python-level __new__ call
    # The tariff version of the last call and its rates by destination: calls of a batch mostly
    # fall in one version, so most are matched without a method call (the same answers as
    # ``version_at`` and ``rate_for``, which are asked whenever these have none).
    tariff: Tariff | None = None
    valid_from: datetime = _NOT_YET  # no call falls in a version before the first is looked up
    valid_to: datetime | None = None
    version = ""
    rates: dict[str, Rate] = {}
    rates_by_tariff: dict[Tariff, dict[str, Rate]] = {}
    with localcontext(_CONTEXT):
        for cdr in ordered:
            cdr_id, account_id, started_at, destination, seconds, emergency = cdr
            if cdr_id in seen or cdr_id in already_rated:
                skipped.append(cdr_id)
                continue
            seen.add(cdr_id)
            if emergency:
                # RAT-3: emergency calls are free and not itemised.
                append(
                    record(RatedCall, (cdr_id, account_id, run, started_at, destination, "",
                                       "", seconds, 0, 0, ZERO, ZERO, ZERO, no_packs, True, False))
                )  # fmt: skip
                continue
            rate = None
            if valid_from <= started_at and (valid_to is None or started_at < valid_to):
                rate = rates.get(destination)
            if rate is None:
                try:
                    found = tariffs.version_at(started_at)
                    if found is not tariff:
                        tariff, valid_from, valid_to = found, found.valid_from, found.valid_to
                        version, rates = found.version, rates_by_tariff.setdefault(found, {})
                    rate = found.rate_for(destination)
                except RatingError as error:
                    failures.append(RatingFailure(cdr_id, error))
                    continue
                if len(rates) >= _RATES_KEPT:
                    rates.clear()
                rates[destination] = rate
            per_minute = rate.per_minute
            pack_seconds = 0
            pack_ids = no_packs
            if packs_by_account:
                account_packs = packs_by_account.get(account_id)
                if account_packs:
                    pack_seconds, pack_ids = _draw_from_packs(account_packs, work, cdr, seconds, per_minute)
            charged = seconds - pack_seconds
            prices = rate.prices
            price = prices.get(charged)
            if price is None:
                if len(prices) >= _PRICES_KEPT:
                    prices.clear()
                price = prices[charged] = call_price(charged, per_minute, rate.connection_fee, rate.minimum)
            append(
                record(RatedCall, (cdr_id, account_id, run, started_at, destination,
                                   rate.prefix, version, seconds, pack_seconds, charged, per_minute,
                                   price[0], price[1], pack_ids, False, True))
            )  # fmt: skip
    new_balances = {pack_id: PackBalance(pack_id, int(state[0]), state[1]) for pack_id, state in work.items()}
    return RatingOutcome(tuple(rated), tuple(skipped), tuple(failures), new_balances)
