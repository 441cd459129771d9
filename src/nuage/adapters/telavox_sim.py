"""BIL-8: an in-process stand-in for the Telavox provisioning interface, for the tests and the demo.

It keeps its orders in memory and answers as the real interface does (``services.support.upstream``):
an order is pending for ``pending_rounds`` reads, then active from that day; an item code in
``refused_items`` is refused; while ``down`` is set (or for the next ``failures`` calls) it is
unreachable, as a provider that is down or times out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from nuage.resale.ucaas import Activation
from nuage.services.support.upstream import UpstreamAnswer, UpstreamStatus, UpstreamUnreachable


@dataclass
class SimulatedUpstream:
    """BIL-8: the upstream provider, simulated."""

    today: Callable[[], date]
    pending_rounds: int = 0  # reads an order stays pending before it is active
    refused_items: frozenset[str] = frozenset()
    down: bool = False
    failures: int = 0  # the next calls that fail as if the provider were down
    orders: dict[str, UpstreamAnswer] = field(default_factory=dict)
    reads: dict[str, int] = field(default_factory=dict)
    calls: int = 0

    def _reachable(self) -> None:
        self.calls += 1
        if self.down:
            raise UpstreamUnreachable("simulated upstream is down")
        if self.failures > 0:
            self.failures -= 1
            raise UpstreamUnreachable("simulated upstream timed out")

    async def order(self, activation: Activation) -> UpstreamAnswer:
        """Order (idempotent by the activation's id)."""
        self._reachable()
        known = self.orders.get(activation.id)
        reference = f"tvx-{activation.id}"
        if known is not None and known.status is not UpstreamStatus.PENDING:
            return known
        if activation.item_code in self.refused_items:
            answer = UpstreamAnswer(UpstreamStatus.REFUSED, reference, reason="item not available")
        else:
            reads = self.reads.get(activation.id, 0) + 1
            self.reads[activation.id] = reads
            if reads > self.pending_rounds:
                answer = UpstreamAnswer(UpstreamStatus.ACTIVE, reference, active_on=self.today())
            else:
                answer = UpstreamAnswer(UpstreamStatus.PENDING, reference)
        self.orders[activation.id] = answer
        return answer

    async def end(self, activation: Activation) -> UpstreamAnswer:
        """Deactivate (idempotent)."""
        self._reachable()
        answer = UpstreamAnswer(UpstreamStatus.ENDED, f"tvx-{activation.id}")
        self.orders[activation.id] = answer
        return answer
