"""A value read from the database in a worker thread and kept current in the background, and what
changed since it was read: ``ChangeFeed`` (which accounts and which tables).

The data plane decides from such snapshots so that a call never waits on the database; a failed
reload keeps the last good value (logged) and is retried at the next tick.

A whole snapshot is built in a worker thread (``built_aside``). In a process whose entry point
tuned the collector (``nuage.sip.tune_gc``, which freezes the start-up heap: ``nuage serve``'s SIP
runtime), the cyclic collector is paused meanwhile: the build's hundreds of thousands of new
objects form no cycles, but each collection that ran while they were made walked them all,
holding the GIL (the loop's stalls of issue #22); and what the build made is frozen afterwards, so
that no later collection walks it. Elsewhere (the API, tests, tools) the collector is left alone:
a process-wide effect is the entry point's choice, never the storage's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, delete, func, select

from nuage.shared.collector import collector_paused, release_gradually
from nuage.storage.sql.tables import directory_changes

S = TypeVar("S")

log = logging.getLogger("nuage.storage.snapshots")

#: the watched tables whose rows belong to an account, and the column naming it: their journal
#: rows name the account each write touched (migration 0016), NULL only for a TRUNCATE
ACCOUNT_COLUMNS = {
    "parties": "id",
    "users": "account_id",
    "devices": "account_id",
    "phone_numbers": "account_id",
    "trunks": "account_id",
    "traffic_packs": "account_id",
    "call_limits": "account_id",
    "autodialer_blocks": "account_id",
}


@contextlib.contextmanager
def built_aside() -> Iterator[None]:
    """Build a whole snapshot in the block; where the process froze its start-up heap (module
    docstring), with the cyclic collector paused and the objects made frozen after it. Freezing
    leaves them out of collections only: reference counting still frees them once the snapshot is
    replaced."""
    if not gc.get_freeze_count():  # the entry point did not tune the collector: leave it be
        yield
        return
    with collector_paused():
        yield
        gc.freeze()


class RefreshedSnapshot(Generic[S]):
    """``load()`` run in a worker thread at start, then every ``refresh_s`` seconds."""

    def __init__(
        self,
        load: Callable[[], S],
        initial: S,
        *,
        name: str,
        refresh_s: float = 2.0,
        on_load: Callable[[S], None] | None = None,
    ) -> None:
        self._load = load
        self._on_load = on_load
        self._value = initial
        self._name = name
        self._refresh_s = refresh_s
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._whole = False

    @property
    def value(self) -> S:
        """The latest value loaded."""
        return self._value

    def read_whole(self) -> None:
        """Called by ``load`` (in its worker thread) when it built the value anew rather than from
        the last one: the replaced value then shares nothing with it and, being large, is freed
        piece by piece in a worker thread (``release_gradually``) rather than at once on the loop."""
        self._whole = True

    async def reload(self) -> None:
        """Read again now (in a worker thread)."""
        async with self._lock:
            self._whole = False
            value = await asyncio.to_thread(self._load)
            replaced: list[object] = [self._value]
            self._value = value
            del value
            if self._whole:
                await asyncio.to_thread(release_gradually, replaced)
            replaced.clear()
        if self._on_load is not None:
            self._on_load(self._value)

    async def start(self) -> None:
        """Load the first value and keep it current."""
        await self.reload()
        self._task = asyncio.create_task(self._refresh_forever(), name=f"{self._name}-refresh")

    async def stop(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.reload()
            except Exception:  # a database hiccup keeps the last good value; logged, retried
                log.exception("%s refresh failed; keeping the previous snapshot", self._name)


@dataclass(frozen=True)
class Changes:
    """What the journal says changed since the last read: the accounts whose rows changed, the
    tables changed as a whole (a row of no account), or ``everything`` (the first read, or the
    journal was pruned past what this reader had seen)."""

    accounts: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()
    everything: bool = False
    account_tables: frozenset[str] = frozenset()  # the tables whose changes named ``accounts``

    def __bool__(self) -> bool:
        return self.everything or bool(self.accounts or self.tables)


class ChangeFeed:
    """The journal's new rows for some watched tables, each row read once (``Changes``).

    A row's id is drawn when it is written, not when its transaction commits, so a transaction
    committed late shows a row below ones already read: each read looks ``window`` ids back and
    skips the ids it has seen. Reading the journal before the data it describes (in the same
    transaction on SQLite) means a change is never missed, at worst applied twice. Past ``keep``
    rows, the journal is pruned to its last tenth; a reader left behind reads everything again.
    """

    def __init__(self, watched: Collection[str], *, window: int = 1000, keep: int = 10_000) -> None:
        self._watched = frozenset(watched)
        self._window = window
        self._keep = keep
        self._highest: int | None = None
        self._seen: set[int] = set()

    def read(self, connection: Connection) -> Changes:
        """What changed in the watched tables since the last read."""
        journal = directory_changes.c
        first, last, count = connection.execute(
            select(func.min(journal.id), func.max(journal.id), func.count())
        ).one()
        start = 0 if self._highest is None else self._highest - self._window
        rows = connection.execute(
            select(journal.id, journal.table_name, journal.account_id).where(journal.id > start)
        ).all()
        everything = (
            self._highest is None
            or (first is not None and first > self._highest + 1)  # pruned past what was read
            or (last is not None and last < self._highest)  # emptied, and its ids start again
        )
        accounts: set[str] = set()
        whole: set[str] = set()
        of_accounts: set[str] = set()
        for key, table, account in rows:
            if key in self._seen or table not in self._watched:
                continue
            if account is None:
                whole.add(table)
            else:
                accounts.add(account)
                of_accounts.add(table)
        highest = max([0 if everything else (self._highest or 0), *(row[0] for row in rows)])
        self._seen = {row[0] for row in rows if row[0] > highest - self._window}
        self._highest = highest
        if count > self._keep:
            connection.execute(delete(directory_changes).where(journal.id <= highest - self._keep // 10))
            connection.commit()
        return Changes(frozenset(accounts), frozenset(whole), everything, frozenset(of_accounts))

    def forget(self) -> None:
        """Start again: the next read says ``everything``."""
        self._highest = None
        self._seen = set()
