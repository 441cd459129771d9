"""BIL-8: Telavox activations go through the upstream provider's provisioning interface (a port).

An activation is requested on the platform, then ordered from the upstream (``ResaleUpstream``,
adapters: ``adapters.telavox`` over HTTP, ``adapters.telavox_sim`` in-process for the tests and
the demo). It becomes active, and billable, only on the day the upstream confirms it; until then
it is never billed (``resale.ucaas``). ``sync`` orders what waits and reads back what is pending:
an upstream that is down or times out is tried again later, each time twice as late (the order is
idempotent: it carries the activation's id); an upstream refusal ends the order. A deactivation of
an active item is sent the same way (the item stops being billed from its deactivation day on the
platform, whatever the upstream's delay).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from nuage.resale.ucaas import Activation
from nuage.services.support.ports import SupportUnitOfWork, UpstreamOrder, UpstreamState
from nuage.shared.clock import Clock, business_date

log = logging.getLogger("nuage.support.upstream")

FIRST_RETRY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)
BATCH = 100


class UpstreamUnreachable(Exception):
    """The upstream did not answer (down, timed out, 5xx): try again later."""


class UpstreamStatus(StrEnum):
    """What the upstream says of an order."""

    PENDING = "pending"  # received, not active yet
    ACTIVE = "active"
    REFUSED = "refused"
    ENDED = "ended"  # deactivated upstream


@dataclass(frozen=True)
class UpstreamAnswer:
    """The upstream's answer to an order or a status request."""

    status: UpstreamStatus
    reference: str | None = None  # the upstream's id of the order
    active_on: date | None = None  # the day it became active (ACTIVE)
    reason: str | None = None  # why it was refused (REFUSED)


class ResaleUpstream(Protocol):
    """BIL-8: the upstream provider's provisioning interface."""

    async def order(self, activation: Activation) -> UpstreamAnswer:
        """Order the activation (idempotent by ``activation.id``); raise ``UpstreamUnreachable``."""
        ...

    async def end(self, activation: Activation) -> UpstreamAnswer:
        """Deactivate it upstream (idempotent); raise ``UpstreamUnreachable``."""
        ...


def retry_delay(attempts: int) -> timedelta:
    """Twice as late after each failed attempt, at most ``MAX_DELAY``."""
    delay: timedelta = FIRST_RETRY * (2 ** max(0, min(attempts, 20) - 1))
    return min(delay, MAX_DELAY)


def queue_order(uow: SupportUnitOfWork, activation: Activation, at: datetime) -> UpstreamOrder:
    """BIL-8: an activation to order from the upstream (written with the activation)."""
    order = UpstreamOrder(activation.id, UpstreamState.WAITING, at, next_try_at=at)
    uow.support.upstream_orders.add(order)
    return order


def queue_end(uow: SupportUnitOfWork, activation_id: str, at: datetime) -> None:
    """BIL-8: a deactivation to send to the upstream."""
    order = uow.support.upstream_orders.find(activation_id)
    if order is not None and order.state is not UpstreamState.REFUSED:
        uow.support.upstream_orders.update(
            replace(order, state=UpstreamState.ENDING, attempts=0, next_try_at=at)
        )


def _after(
    order: UpstreamOrder, answer: UpstreamAnswer | None, error: str | None, now: datetime
) -> UpstreamOrder:
    if answer is None:
        attempts = order.attempts + 1
        return replace(order, attempts=attempts, next_try_at=now + retry_delay(attempts), last_error=error)
    reference = answer.reference or order.reference
    if answer.status is UpstreamStatus.REFUSED:
        return replace(order, state=UpstreamState.REFUSED, reference=reference, last_error=answer.reason)
    if answer.status is UpstreamStatus.ENDED:
        return replace(order, state=UpstreamState.ENDED, reference=reference, last_error=None)
    if answer.status is UpstreamStatus.ACTIVE and order.state is UpstreamState.ENDING:
        attempts = order.attempts + 1  # still active upstream: ask again later
        return replace(order, attempts=attempts, next_try_at=now + retry_delay(attempts), reference=reference)
    if answer.status is UpstreamStatus.ACTIVE:
        return replace(order, state=UpstreamState.ACTIVE, reference=reference, last_error=None)
    attempts = order.attempts + 1  # pending: read it back later
    state = UpstreamState.PENDING if order.state is not UpstreamState.ENDING else order.state
    return replace(
        order, state=state, reference=reference, attempts=attempts, next_try_at=now + retry_delay(attempts)
    )


@dataclass
class SyncReport:
    """What one round did."""

    activated: list[str]
    refused: list[str]
    retried: list[str]


async def sync(
    uow_factory: Callable[[], SupportUnitOfWork], upstream: ResaleUpstream, clock: Clock
) -> SyncReport:
    """BIL-8: order the waiting activations and read back the pending ones; an activation becomes
    active (billable) from the day the upstream confirms it."""

    def due() -> list[tuple[UpstreamOrder, Activation]]:
        now = clock.now()
        with uow_factory() as uow:
            open_states = sorted(
                s.value for s in (UpstreamState.WAITING, UpstreamState.PENDING, UpstreamState.ENDING)
            )
            orders = uow.support.upstream_orders.list(
                state=open_states, order_by=("requested_at", "activation_id"), limit=1000
            )
            ready = [o for o in orders if o.next_try_at is None or o.next_try_at <= now][:BATCH]
            return [(o, uow.support.activations.get(o.activation_id)) for o in ready]

    report = SyncReport([], [], [])
    results: list[tuple[UpstreamOrder, UpstreamOrder, UpstreamAnswer | None]] = []
    for order, activation in await asyncio.to_thread(due):
        try:
            if order.state is UpstreamState.ENDING:
                answer: UpstreamAnswer | None = await upstream.end(activation)
            else:
                answer = await upstream.order(activation)
            error = None
        except UpstreamUnreachable as exc:
            answer, error = None, str(exc)[:300] or "unreachable"
            log.warning("upstream unreachable for activation %s: %s", activation.id, error)
        results.append((order, _after(order, answer, error, clock.now()), answer))

    def record() -> None:
        with uow_factory() as uow:
            for before, after, answer in results:
                uow.support.upstream_orders.update(after)
                if after.state is UpstreamState.ACTIVE and before.state is not UpstreamState.ACTIVE:
                    activation = uow.support.activations.get(after.activation_id)
                    if activation.active_from is None and activation.active_until is None:
                        day = (answer.active_on if answer else None) or business_date(clock.now())
                        uow.support.activations.update(replace(activation, active_from=day))
                    report.activated.append(after.activation_id)
                elif after.state is UpstreamState.REFUSED:
                    report.refused.append(after.activation_id)
                elif answer is None:
                    report.retried.append(after.activation_id)
            uow.commit()

    if results:
        await asyncio.to_thread(record)
    return report
