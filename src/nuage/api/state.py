"""What every request checks in memory: suspended and revoked clients (API-3/4), the holders of user
tokens (removed users), account limits (API-2).

The node that changes a client's status, removes a user or changes an account's limits updates its
copy at once; every node also re-reads them from the database every ``refresh_s`` (in a worker
thread, off the request path), so the other web nodes follow within that delay. For user tokens a
node keeps the account and role of each user whose token it has seen lately (for a token's
lifetime): a user's first token on a node is checked against the database before it is answered,
and a token whose user is gone, or whose role or account is no longer the token's, is refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nuage.api.tokens import Claims

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Clients refused now, and the accounts whose limits differ from the defaults."""

    blocked_clients: frozenset[str]
    limits: dict[str, tuple[int, int]]


#: user ids -> (account id, role) of those that still exist
UserLoader = Callable[[frozenset[str]], Mapping[str, tuple[str, str]]]


class AccessState:
    """The in-memory copy of blocked clients and limits, kept current."""

    def __init__(
        self,
        load: Callable[[], Snapshot],
        *,
        default_reads: int,
        default_writes: int,
        refresh_s: float,
        load_users: UserLoader | None = None,
        holder_ttl_s: float = 900.0,
    ) -> None:
        self._load = load
        self._load_users = load_users
        self._holder_ttl_s = holder_ttl_s  # a token's lifetime: holders unseen that long are forgotten
        self._holders: dict[str, tuple[str, str] | None] = {}  # user id -> (account, role); None: gone
        self._holders_seen: dict[str, float] = {}
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
        snapshot = self._load()
        if self._load_users is not None:
            now = time.monotonic()
            seen = self._holders_seen.copy()  # the loop adds to it meanwhile (a copy is atomic)
            for user_id, at in seen.items():
                if now - at > self._holder_ttl_s:
                    self._holders_seen.pop(user_id, None)
                    del seen[user_id]
            ids = frozenset(seen)
            found = self._load_users(ids) if ids else {}
            self._holders = {user_id: found.get(user_id) for user_id in ids}
        self._snapshot = snapshot
        self._loaded_at = time.monotonic()

    def knows_holder(self, claims: Claims) -> bool:
        """Whether this token's holder needs no check before the token is honoured."""
        if claims.kind == "client" or self._load_users is None:
            return True
        self._holders_seen[claims.subject] = time.monotonic()
        return claims.subject in self._holders

    async def check_holder(self, claims: Claims) -> None:
        """Read a user's account and role now (a user's first token on this node), off the loop."""
        if self._load_users is None:
            return
        found = await asyncio.to_thread(self._load_users, frozenset({claims.subject}))
        self._holders[claims.subject] = found.get(claims.subject)

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
        if claims.subject in self._local_blocks:
            return True
        if self._load_users is None:
            return False
        holder = self._holders.get(claims.subject)
        return holder is None or holder != (claims.account_id, claims.role)

    def block_client(self, client_id: str) -> None:
        """API-3: refuse this client's tokens on this node from now on."""
        self._snapshot = Snapshot(self._snapshot.blocked_clients | {client_id}, self._snapshot.limits)

    def unblock_client(self, client_id: str) -> None:
        """API-3: the operator let a suspended client back in."""
        self._snapshot = Snapshot(self._snapshot.blocked_clients - {client_id}, self._snapshot.limits)

    def block_user(self, user_id: str) -> None:
        """A removed user's tokens stop working on this node at once (the others: at their next refresh)."""
        self._local_blocks.add(user_id)
        self._holders[user_id] = None

    def limits_for(self, account_id: str) -> tuple[int, int]:
        """API-2: (reads, writes) in flight allowed for the account."""
        return self._snapshot.limits.get(account_id, (self.default_reads, self.default_writes))

    def set_limits(self, account_id: str, reads: int, writes: int) -> None:
        """API-2: the operator changed an account's limits; applies on this node at once."""
        self._snapshot = Snapshot(
            self._snapshot.blocked_clients, {**self._snapshot.limits, account_id: (reads, writes)}
        )
