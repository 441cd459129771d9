"""What every request checks in memory: suspended and revoked clients (API-3/4), revoked tokens
(RFC 7009), the holders of user tokens (removed, changed users; changed passwords), account limits
(API-2).

The node that changes a client's status, revokes a token, removes or changes a user, sets a
password or changes an account's limits updates its copy at once (before it answers); every node
also re-reads them from the database every ``refresh_s`` (in a worker thread, off the request
path), so the other web nodes follow within that delay. For user tokens a node keeps the account,
role and token generation of each user whose token it has seen lately (for a token's lifetime): a
user's first token on a node is checked against the database before it is answered, and a token
whose user is gone, or whose role, account or generation (a password change starts the next) is no
longer the token's, is refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from nuage.api.tokens import Claims

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Clients refused now, and the accounts whose limits differ from the defaults."""

    blocked_clients: frozenset[str]
    limits: dict[str, tuple[int, int]]
    revoked_tokens: frozenset[str] = frozenset()  # RFC 7009: ids of revoked tokens not yet expired


#: what a user's tokens must match: (account id, role, token generation)
Holder = tuple[str, str, int]
#: user ids -> their holder, for those that still exist
UserLoader = Callable[[frozenset[str]], Mapping[str, Holder]]


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
        self._holders: dict[str, Holder | None] = {}  # user id -> holder; None: gone
        self._holders_seen: dict[str, float] = {}
        # changes made on this node, kept over a re-read that may have started before they were committed
        self._pinned: dict[str, tuple[Holder, float]] = {}
        self._local_revoked: dict[str, float] = {}  # token ids revoked on this node -> when (monotonic)
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
        started = time.monotonic()
        snapshot = self._load()
        if self._load_users is not None:
            now = started
            seen = self._holders_seen.copy()  # the loop adds to it meanwhile (a copy is atomic)
            for user_id, at in seen.items():
                if now - at > self._holder_ttl_s:
                    self._holders_seen.pop(user_id, None)
                    del seen[user_id]
            ids = frozenset(seen)
            found = self._load_users(ids) if ids else {}
            holders = {user_id: found.get(user_id) for user_id in ids}
            for user_id, (holder, at) in list(self._pinned.items()):
                if at >= started:  # changed here while this re-read ran: maybe not in what it read
                    holders[user_id] = holder
                else:
                    self._pinned.pop(user_id, None)
            self._holders = holders
        for token_id, at in list(self._local_revoked.items()):
            if at < started:  # committed before this re-read began: in the snapshot (unless expired)
                self._local_revoked.pop(token_id, None)
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
        if claims.token_id and (
            claims.token_id in self._snapshot.revoked_tokens or claims.token_id in self._local_revoked
        ):
            return True
        if claims.kind == "client":
            return claims.subject in self._snapshot.blocked_clients
        if claims.subject in self._local_blocks:
            return True
        if self._load_users is None:
            return False
        holder = self._holders.get(claims.subject)
        return holder is None or holder != (claims.account_id, claims.role, claims.generation)

    def block_client(self, client_id: str) -> None:
        """API-3: refuse this client's tokens on this node from now on."""
        self._snapshot = replace(self._snapshot, blocked_clients=self._snapshot.blocked_clients | {client_id})

    def unblock_client(self, client_id: str) -> None:
        """API-3: the operator let a suspended client back in."""
        self._snapshot = replace(self._snapshot, blocked_clients=self._snapshot.blocked_clients - {client_id})

    def block_user(self, user_id: str) -> None:
        """A removed user's tokens stop working on this node at once (the others: at their next refresh)."""
        self._local_blocks.add(user_id)
        self._holders[user_id] = None

    def set_holder(self, user_id: str, holder: Holder) -> None:
        """A user's role, account or password changed here: tokens that no longer match stop at once.

        Call it once the change is committed."""
        self._holders[user_id] = holder
        self._pinned[user_id] = (holder, time.monotonic())

    def revoke_token(self, token_id: str) -> None:
        """RFC 7009: this token stops working on this node at once (call it once the revocation is stored)."""
        self._local_revoked[token_id] = time.monotonic()

    def limits_for(self, account_id: str) -> tuple[int, int]:
        """API-2: (reads, writes) in flight allowed for the account."""
        return self._snapshot.limits.get(account_id, (self.default_reads, self.default_writes))

    def set_limits(self, account_id: str, reads: int, writes: int) -> None:
        """API-2: the operator changed an account's limits; applies on this node at once."""
        self._snapshot = replace(
            self._snapshot, limits={**self._snapshot.limits, account_id: (reads, writes)}
        )
