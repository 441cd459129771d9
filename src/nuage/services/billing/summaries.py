"""Monthly summaries read and checked (CNT-1): an account's frozen summaries, the state of every
hash chain, and the check every billing run makes first.

A chain breaks when a stored summary was changed after it was frozen (its content no longer gives
its hash, or its link to the month before does not hold). Nothing then bills from it: the run
refuses with the account and the month, and the operator restores the summary from a backup
(summaries are never re-frozen: a frozen summary is evidence, CNT-1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nuage.errors import Conflict, TermViolation
from nuage.services.billing.common import list_customers
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.shared.month import Month
from nuage.terms.counting import ChainBreak, MonthlySummary, verify_chain


@dataclass(frozen=True)
class ChainState:
    """CNT-1: one account's chain: how many months, the first and last, the first broken link."""

    account_id: str
    months: int
    first: Month | None
    last: Month | None
    last_hash: str | None
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        """True when every link holds."""
        return self.broken is None


def _state(account_id: str, summaries: list[MonthlySummary]) -> ChainState:
    return ChainState(
        account_id=account_id,
        months=len(summaries),
        first=summaries[0].month if summaries else None,
        last=summaries[-1].month if summaries else None,
        last_hash=summaries[-1].hash if summaries else None,
        broken=verify_chain(summaries),
    )


def account_summaries(uow: BillingUnitOfWork, ctx: Context, account_id: str) -> list[MonthlySummary]:
    """CNT-1/TEN-4: an account's summaries, oldest first, after checking the hash chain (Conflict if
    broken); another tenant's account is NotFound."""
    ctx.scope.require(account_id, "customer")
    summaries = uow.billing.summaries(account_id)
    broken = verify_chain(summaries)
    if broken is not None:
        raise Conflict(
            f"CNT-1: summary {broken.month} of {account_id}: {broken.reason}",
            month=str(broken.month),
            rule_id="CNT-1",
        )
    return summaries


def chain_states(
    uow: BillingUnitOfWork, ctx: Context, account_ids: Iterable[str] | None = None
) -> list[ChainState]:
    """CNT-1/TEN-4: the chain of every customer the caller sees (or of ``account_ids``), by id."""
    if account_ids is None:
        wanted = [c.id for c in list_customers(uow) if ctx.scope.can_see(c.id)]
    else:
        wanted = sorted(set(account_ids))
        for account_id in wanted:
            ctx.scope.require(account_id, "customer")
    chains = uow.billing.summaries_of(wanted)
    return [_state(account_id, chains[account_id]) for account_id in wanted]


def require_intact_chains(uow: BillingUnitOfWork, account_ids: Iterable[str]) -> None:
    """CNT-1: a billing run's first check: every chain it bills from holds, else nothing is issued."""
    chains = uow.billing.summaries_of(sorted(set(account_ids)))
    broken = [
        state for state in (_state(a, chain) for a, chain in chains.items()) if state.broken is not None
    ]
    if broken:
        shown = "; ".join(
            f"{state.account_id} {state.broken.month} ({state.broken.reason})"
            for state in broken[:5]
            if state.broken is not None
        )
        more = f" and {len(broken) - 5} more" if len(broken) > 5 else ""
        raise TermViolation(
            "CNT-1",
            f"The monthly summaries of {len(broken)} accounts were changed after they were frozen: "
            f"{shown}{more}. Nothing was issued; restore them from a backup, then run again "
            "(`nuage billing verify` shows every chain)",
            accounts=[state.account_id for state in broken],
        )
