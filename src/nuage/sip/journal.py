"""The crash journal: a node's calls in progress, written behind, closed by its next life.

Issue #20: a node killed with calls up lost their CDRs and answered the carrier's BYEs with
481. Each call the policy authorised is journaled as it starts, places its callee leg and is
answered; the call path only updates a dictionary (``CallJournal.update``), never waits on the
store: a background flush writes what changed every ``flush_s`` in one transaction, with the
node's last sign of life (``seen_at``) while it has calls journaled. An entry is forgotten only
once the call's CDR is stored (``cdrs_written``, the CDR writer's report), so that between the
two a crash loses nothing: the next life finds either the CDR or the entry.

A node started again under the same name (``recover``) closes the calls its previous life left:
one CDR each with what was known (start, answer, its last sign of life as the end, disposition
``INTERRUPTED``), never billed beyond the last instant the call was known to be up, and none for
a call whose CDR was stored already. It then answers the BYEs of those dialogs with 200
(``OrphanDialogs``) instead of 481. Their channels (CAP-3) are not held by the new life: the
counters start empty, or, shared in Redis, are rewritten for a node id started again and
reaped with their lease otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from nuage.shared.clock import Clock
from nuage.sip.accounting import billable_seconds
from nuage.sip.ports import INTERRUPTED, CallJournalStore, CallOutcome, CdrRecord, JournalEntry
from nuage.sip.timers import Cancellable, Scheduler

log = logging.getLogger("nuage.sip.journal")

Key = tuple[str, str]
"""A journaled call: the caller's Call-ID and our tag in the caller's dialog."""


class CallJournal:
    """Write-behind journal of one node's calls in progress (see the module docstring)."""

    def __init__(
        self, store: CallJournalStore, node: str, clock: Clock, scheduler: Scheduler, *, flush_s: float = 0.5
    ) -> None:
        self.store = store
        self.node = node
        self._clock = clock
        self._scheduler = scheduler
        self._flush_s = flush_s
        self._live: dict[Key, JournalEntry] = {}
        self._dirty: set[Key] = set()  # live entries changed since the last flush
        self._removed: set[Key] = set()  # stored entries whose CDR is stored now
        self._stored: set[Key] = set()  # entries the store holds (as far as known)
        self._in_flight: set[Key] = set()  # entries of the flush running now
        self._awaiting_cdr: dict[CdrRecord, Key] = {}
        self._timer: Cancellable | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._closing = False

    # -- the call path: dictionary updates only -----------------------------------------------
    def update(self, entry: JournalEntry) -> None:
        """A call started, placed its callee leg or was answered: journal it as it is now."""
        key = (entry.call_id, entry.caller_tag)
        self._live[key] = entry
        self._dirty.add(key)

    def ended(self, key: Key, record: CdrRecord) -> None:
        """The call ended with ``record``: forget its entry once that CDR is stored."""
        if self._live.pop(key, None) is None:
            return
        self._dirty.discard(key)
        self._awaiting_cdr[record] = key

    def cdrs_written(self, records: Sequence[CdrRecord]) -> None:
        """The CDR writer stored ``records``: their calls' entries may go."""
        for record in records:
            key = self._awaiting_cdr.pop(record, None)
            if key is not None and (key in self._stored or key in self._in_flight):
                self._removed.add(key)

    @property
    def live(self) -> int:
        """Calls journaled and not ended."""
        return len(self._live)

    @property
    def stored(self) -> int:
        """Entries the store holds, as far as this node knows."""
        return len(self._stored)

    # -- the background flush -------------------------------------------------------------------
    def start(self) -> None:
        """Flush every ``flush_s`` from now on."""
        self._closing = False
        self._arm()

    def _arm(self) -> None:
        if not self._closing:
            self._timer = self._scheduler.call_later(self._flush_s, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.flush(), name="call-journal-flush")
        self._arm()

    async def flush(self) -> None:
        """Write what changed, and the node's sign of life while it has calls stored."""
        async with self._lock:
            if not (self._dirty or self._removed or self._stored):
                return
            entries = [self._live[key] for key in self._dirty]
            removed = list(self._removed)
            self._dirty.clear()
            self._removed.clear()
            self._in_flight = {(e.call_id, e.caller_tag) for e in entries}
            try:
                await self.store.write(self.node, entries, removed, self._clock.now())
            except Exception:
                log.exception("call journal not written; %d changes kept for the next flush", len(entries))
                self._dirty.update(key for key in self._in_flight if key in self._live)
                self._removed.update(removed)
                return
            finally:
                written, self._in_flight = self._in_flight, set()
            self._stored |= written
            self._stored -= set(removed)

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Stop flushing, after one last flush (a clean stop leaves nothing to recover); a store
        that does not answer within ``timeout_s`` is given up (the next life recovers the rest)."""
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            async with asyncio.timeout(timeout_s):
                if self._task is not None:
                    await asyncio.gather(self._task, return_exceptions=True)
                await self.flush()
        except TimeoutError:
            log.warning("call journal store did not answer; %d calls left to recover", self.stored)
            if self._task is not None:
                self._task.cancel()


def interrupted_record(entry: JournalEntry, last_seen: datetime | None) -> CdrRecord:
    """The CDR of a call its node lost: ended at the node's last sign of life (never later)."""
    ended_at = entry.answered_at or entry.started_at
    if last_seen is not None:
        ended_at = max(ended_at, last_seen)
    answered = entry.answered_at is not None
    return CdrRecord(
        call_id=entry.call_id,
        caller=entry.caller,
        callee=entry.callee,
        account_id=entry.account_id,
        device_id=entry.device_id,
        trunk_id=entry.trunk_id,
        direction=entry.direction,
        started_at=entry.started_at,
        answered_at=entry.answered_at,
        ended_at=ended_at,
        billable_seconds=billable_seconds(entry.answered_at, ended_at),
        outcome=CallOutcome.ANSWERED if answered else CallOutcome.FAILED,
        sip_status=200 if answered else 500,
        refusal_rule_id=None,
        emergency=entry.emergency,
        customer_trunk_id=entry.customer_trunk_id,
        disposition=INTERRUPTED,
    )


async def recover(store: CallJournalStore, node: str) -> list[JournalEntry]:
    """Close the calls a previous life of ``node`` left (one CDR each); the entries closed."""
    entries, last_seen = await store.load(node)
    if entries:
        await store.close(node, [interrupted_record(entry, last_seen) for entry in entries])
        log.warning("closed %d calls interrupted by the failure of node %s", len(entries), node)
    return entries


class OrphanDialogs:
    """The dialogs of calls a previous life lost: their BYEs get 200, for ``keep_s`` seconds."""

    def __init__(self, time: Callable[[], float], *, keep_s: float) -> None:
        self._time = time
        self._keep_s = keep_s
        self._until: dict[Key, float] = {}

    def add(self, entries: Iterable[JournalEntry]) -> None:
        """Both dialogs of each entry (Call-ID and our tag), the caller's and the callee's."""
        until = self._time() + self._keep_s
        for entry in entries:
            self._until[(entry.call_id, entry.caller_tag)] = until
            if entry.callee_call_id is not None and entry.callee_tag is not None:
                self._until[(entry.callee_call_id, entry.callee_tag)] = until

    def take(self, key: Key) -> bool:
        """Whether ``key`` is a lost call's dialog (forgotten now: one BYE ends it)."""
        return self._until.pop(key, None) is not None

    def prune(self) -> None:
        """Forget the dialogs kept long enough."""
        now = self._time()
        for key in [key for key, until in self._until.items() if until <= now]:
            del self._until[key]

    def __len__(self) -> int:
        return len(self._until)
