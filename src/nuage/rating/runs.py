"""Rating runs (RAT-2, TEN-5): the named passes that rate one CDR several times.

As CGRateS ``ChargerS`` does, one CDR is priced once per run: the customer's
retail price (what a direct customer, or a partner's customer, pays) and the
partner's wholesale price (what the operator invoices a partner, TEN-5). Each run
has its own tariff book and its own pack balances.

TEN-5 run selection lives here, and nowhere else: ``runs_for_account`` (which runs price an
account's calls) and ``invoiced_run`` (which run's prices a contracting party is invoiced);
the rating job and the monthly run ask these, storage only stores what they chose.

Entry point: ``rate_for_runs(cdrs, plans, already_rated=...)`` → ``{run: RatingOutcome}``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackBalance, TrafficPack
from nuage.rating.rater import RatingOutcome, rate_calls
from nuage.rating.tariffs import TariffBook
from nuage.tenancy.model import PartyKind


class RatingRun(StrEnum):
    """TEN-5: the rating passes: the customer's retail price and the partner's wholesale price."""

    CUSTOMER_RETAIL = "customer-retail"
    PARTNER_WHOLESALE = "partner-wholesale"


_DIRECT_RUNS = frozenset({RatingRun.CUSTOMER_RETAIL})
_PARTNER_SERVED_RUNS = frozenset({RatingRun.CUSTOMER_RETAIL, RatingRun.PARTNER_WHOLESALE})


def runs_for_account(*, served_by_partner: bool) -> frozenset[RatingRun]:
    """TEN-5: the runs that price an account's calls.

    Every call is priced at the customer's retail price (what the customer pays, whoever
    invoices it); the calls of a partner's customer are also priced at the partner's wholesale
    price (what the operator invoices the partner).
    """
    return _PARTNER_SERVED_RUNS if served_by_partner else _DIRECT_RUNS


def invoiced_run(*, invoiced_party_is_partner: bool) -> RatingRun:
    """TEN-5: the run whose cost records a contracting party's invoice carries: a partner is
    invoiced its customers' calls at wholesale prices, a direct customer its own at retail."""
    return RatingRun.PARTNER_WHOLESALE if invoiced_party_is_partner else RatingRun.CUSTOMER_RETAIL


def runs_visible_to(viewer: PartyKind) -> frozenset[RatingRun]:
    """TEN-4/TEN-5: the runs whose prices a viewer reads: a customer its retail prices only (never
    what its partner pays the operator), a partner also its wholesale prices, the operator both."""
    return _DIRECT_RUNS if viewer is PartyKind.CUSTOMER else _PARTNER_SERVED_RUNS


@dataclass(frozen=True)
class RunPlan:
    """RAT-2: what one run rates with: its tariff book, its packs and their balances so far."""

    run: RatingRun
    tariffs: TariffBook
    packs: Sequence[TrafficPack] = ()
    balances: Mapping[str, PackBalance] = field(default_factory=dict)


def rate_for_runs(
    cdrs: Iterable[Cdr],
    plans: Sequence[RunPlan],
    *,
    already_rated: Mapping[RatingRun, Container[str]] | None = None,
) -> dict[RatingRun, RatingOutcome]:
    """RAT-1..3/TEN-5: rate the same CDRs in every run; idempotent per (run, CDR id)."""
    batch = list(cdrs)
    done = already_rated or {}
    return {
        plan.run: rate_calls(
            batch,
            plan.tariffs,
            run=plan.run.value,
            packs=plan.packs,
            balances=plan.balances,
            already_rated=done.get(plan.run, frozenset()),
        )
        for plan in plans
    }
