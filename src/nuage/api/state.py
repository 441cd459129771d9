"""What every request checks in memory: suspended and revoked clients (API-3/4), account limits (API-2).

The node that changes a client's status or an account's limits updates its copy at once; every
node also re-reads both from the database every ``refresh_s`` (in a worker thread, off the
request path), so the other web nodes follow within that delay.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from nuage.api.tokens import Claims

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Clients refused now, and the accounts whose limits differ from the defaults."""

    blocked_clients: frozenset[str]
    limits: dict[str, tuple[int, int]]


class AccessState:
    """The in-memory copy of blocked clients and limits, kept current."""

    def __init__(
        self,
        load: Callable[[], Snapshot],
        *,
        default_reads: int,
        default_writes: int,
        refresh_s: float,
    ) -> None:
        self._load = load
        self.default_reads = default_reads
        self.default_writes = default_writes
        self._refresh_s = refresh_s
        self._snapshot = Snapshot(frozenset(), {})
        self._local_blocks: set[str] = set()  # users removed on this node, until their tokens expire
        self._loaded_at = 0.0
        self._refreshing = False
        self._task: asyncio.Task[None] | None = None  # kept, so the loop does not drop it midway

    def reload(self) -> None:
        """Re-read the database now (blocking)."""
        self._snapshot = self._load()
        self._loaded_at = time.monotonic()

    def maybe_refresh(self) -> None:
        """Schedule a background re-read when the copy is older than ``refresh_s``."""
        if self._refreshing or time.monotonic() - self._loaded_at < self._refresh_s:
            return
        self._refreshing = True
        self._task = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        try:
            await asyncio.to_thread(self.reload)
        except Exception:  # a database hiccup keeps the last copy; the next request retries
            log.exception("could not refresh API access state")
            self._loaded_at = time.monotonic()
        finally:
            self._refreshing = False

    def is_blocked(self, claims: Claims) -> bool:
        """API-3/API-4: whether the token's client (or user) lost access since it was issued."""
        if claims.kind == "client":
            return claims.subject in self._snapshot.blocked_clients
        return claims.subject in self._local_blocks

    def block_client(self, client_id: str) -> None:
        """API-3: refuse this client's tokens on this node from now on."""
        self._snapshot = Snapshot(self._snapshot.blocked_clients | {client_id}, self._snapshot.limits)

    def unblock_client(self, client_id: str) -> None:
        """API-3: the operator let a suspended client back in."""
        self._snapshot = Snapshot(self._snapshot.blocked_clients - {client_id}, self._snapshot.limits)

    def block_user(self, user_id: str) -> None:
        """A removed user's tokens stop working on this node at once."""
        self._local_blocks.add(user_id)

    def limits_for(self, account_id: str) -> tuple[int, int]:
        """API-2: (reads, writes) in flight allowed for the account."""
        return self._snapshot.limits.get(account_id, (self.default_reads, self.default_writes))

    def set_limits(self, account_id: str, reads: int, writes: int) -> None:
        """API-2: the operator changed an account's limits; applies on this node at once."""
        self._snapshot = Snapshot(
            self._snapshot.blocked_clients, {**self._snapshot.limits, account_id: (reads, writes)}
        )
