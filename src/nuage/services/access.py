"""API access: clients with developer credentials, portal logins, staff users, limits (API-1..4).

Secrets and passwords are stored as argon2 hashes only; a client's secret is shown once, when it
is issued. The operator suspends a client at once (API-3); a revoked client is terminated (API-4).
A password follows ``nuage.directory.passwords``; setting one ends the user's existing tokens (the
user's token generation moves on). A single token may be revoked (RFC 7009) until it expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from nuage.directory.model import Role, User
from nuage.directory.passwords import check_password
from nuage.errors import Conflict, InvalidInput, NotFound
from nuage.services.context import Context
from nuage.services.ports import Repository, UnitOfWork
from nuage.shared.ids import new_id
from nuage.tenancy.model import Party, PartyKind

# OWASP's argon2id floor (19 MiB, 2 passes): ~20 ms per check, paid at login, never per request.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _HASHER.hash("nuage-timing-equaliser")


class ClientStatus(StrEnum):
    """API-3/API-4: an active client gets tokens; a suspended or revoked one loses access at once."""

    ACTIVE = "active"
    SUSPENDED = "suspended"  # API-3: by the operator, reversible
    REVOKED = "revoked"  # API-4: terminated by the account or the operator, final


@dataclass
class ApiClient:
    """API-1: developer credentials (client ID and secret) that identify an API client of an account."""

    id: str  # the client_id
    account_id: str
    name: str
    role: Role  # administrator (read and write) or supervisor (read only)
    secret_hash: str
    status: ClientStatus
    created_at: datetime
    created_by: str | None = None
    status_changed_at: datetime | None = None


@dataclass
class ApiLimits:
    """API-2: an account's limits on requests in flight, as the operator set them."""

    account_id: str
    max_reads: int
    max_writes: int
    updated_at: datetime


class AccessStore(Protocol):
    """Storage port for API clients and limits; ``nuage.storage.sql.api_store`` implements it."""

    @property
    def clients(self) -> Repository[ApiClient]: ...
    @property
    def limits(self) -> Repository[ApiLimits]: ...
    def user_holders(self, user_ids: Collection[str]) -> dict[str, tuple[str, str, int]]:
        """The account, role and token generation of each of these users that still exists."""
        ...

    def revoke_token(self, token_id: str, subject: str, expires_at: datetime, now: datetime) -> None:
        """Keep a revoked token's id until it expires (and forget those expired by ``now``)."""
        ...

    def revoked_token_ids(self, now: datetime) -> frozenset[str]:
        """The ids of the revoked tokens that have not expired by ``now``."""
        ...


def hash_secret(secret: str) -> str:
    """An argon2id hash of a password or client secret."""
    return _HASHER.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches; a missing hash costs the same time as a wrong secret."""
    try:
        return _HASHER.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_client_secret() -> str:
    """A client secret: 256 random bits, URL-safe."""
    return f"nsk_{secrets.token_urlsafe(32)}"


def _account(uow: UnitOfWork, ctx: Context, account_id: str) -> Party:
    ctx.scope.require(account_id, "account")
    party = uow.parties.find(account_id)
    if party is None:
        raise NotFound("account", account_id)
    return party


def _require_operator(ctx: Context, kind: str, key: str) -> None:
    if not ctx.scope.is_operator:
        raise NotFound(kind, key)  # TEN-4: operator-only items do not exist for others


# --- API clients (API-1, API-3, API-4) -----------------------------------------------------------------


def issue_client(
    uow: UnitOfWork,
    store: AccessStore,
    ctx: Context,
    account_id: str,
    name: str,
    *,
    role: Role = Role.ADMINISTRATOR,
    created_by: str | None = None,
    client_id: str | None = None,
    secret: str | None = None,
) -> tuple[ApiClient, str]:
    """API-1: issue a client ID and secret for an account; the secret is returned once, stored hashed."""
    _account(uow, ctx, account_id)
    role = Role(role)
    if role is Role.USER:
        raise InvalidInput("role", "An API client acts as an administrator or a supervisor")
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200:
        raise InvalidInput("name", "name must have 1 to 200 characters")
    client_id = client_id or new_id("cli")
    if store.clients.find(client_id) is not None:
        raise Conflict(f"Client {client_id} exists", field="client_id")
    secret = secret or new_client_secret()
    client = ApiClient(
        id=client_id,
        account_id=account_id,
        name=cleaned,
        role=role,
        secret_hash=hash_secret(secret),
        status=ClientStatus.ACTIVE,
        created_at=ctx.clock.now(),
        created_by=created_by,
    )
    store.clients.add(client)
    return client, secret


def authenticate_client(store: AccessStore, client_id: str, secret: str) -> ApiClient | None:
    """API-1: the active client these credentials identify, else None (unknown, wrong, suspended)."""
    client = store.clients.find(client_id) if len(client_id) <= 64 else None
    if not verify_secret(client.secret_hash if client else None, secret) or client is None:
        return None
    return client if client.status is ClientStatus.ACTIVE else None


def get_client(store: AccessStore, ctx: Context, client_id: str) -> ApiClient:
    """A client of an account the caller may see (TEN-4: others are NotFound)."""
    client = store.clients.find(client_id)
    if client is None or not ctx.scope.can_see(client.account_id):
        raise NotFound("api client", client_id)
    return client


def set_client_status(store: AccessStore, ctx: Context, client_id: str, status: ClientStatus) -> ApiClient:
    """API-3: the operator suspends a client at once, or lets it back in; revoked stays revoked."""
    _require_operator(ctx, "api client", client_id)
    client = get_client(store, ctx, client_id)
    status = ClientStatus(status)
    if client.status is ClientStatus.REVOKED and status is not ClientStatus.REVOKED:
        raise Conflict("A revoked client cannot come back; issue a new one", field="status")
    changed = replace(client, status=status, status_changed_at=ctx.clock.now())
    store.clients.update(changed)
    return changed


def revoke_client(store: AccessStore, ctx: Context, client_id: str) -> ApiClient:
    """API-4: terminate a client; its tokens stop working and its secret never works again."""
    client = get_client(store, ctx, client_id)
    changed = replace(client, status=ClientStatus.REVOKED, status_changed_at=ctx.clock.now())
    store.clients.update(changed)
    return changed


def blocked_client_ids(store: AccessStore) -> frozenset[str]:
    """API-3/API-4: clients whose tokens must be refused now (suspended or revoked)."""
    return frozenset(
        c.id
        for c in store.clients.list(
            status=[ClientStatus.SUSPENDED.value, ClientStatus.REVOKED.value], order_by=("id",)
        )
    )


# --- limits (API-2) ------------------------------------------------------------------------------------


def get_limits(
    uow: UnitOfWork,
    store: AccessStore,
    ctx: Context,
    account_id: str,
    *,
    default_reads: int,
    default_writes: int,
) -> ApiLimits:
    """API-2: an account's limits: the operator's setting, else the defaults (10 reads, 1 write)."""
    party = _account(uow, ctx, account_id)
    found = store.limits.find(account_id)
    return found or ApiLimits(party.id, default_reads, default_writes, party.created_at)


def set_limits(
    uow: UnitOfWork, store: AccessStore, ctx: Context, account_id: str, *, max_reads: int, max_writes: int
) -> ApiLimits:
    """API-2: the operator may change an account's limits."""
    _require_operator(ctx, "account", account_id)
    _account(uow, ctx, account_id)
    if not 1 <= max_reads <= 1000:
        raise InvalidInput("max_reads", "max_reads must be 1..1000")
    if not 1 <= max_writes <= 1000:
        raise InvalidInput("max_writes", "max_writes must be 1..1000")
    limits = ApiLimits(account_id, max_reads, max_writes, ctx.clock.now())
    if store.limits.find(account_id) is None:
        store.limits.add(limits)
    else:
        store.limits.update(limits)
    return limits


def all_limits(store: AccessStore) -> dict[str, tuple[int, int]]:
    """API-2: every account's limits that differ from the defaults, for the web nodes' cache."""
    return {
        lim.account_id: (lim.max_reads, lim.max_writes) for lim in store.limits.list(order_by=("account_id",))
    }


# --- portal logins and staff users --------------------------------------------------------------------


def set_password(uow: UnitOfWork, ctx: Context, user_id: str, password: str) -> User:
    """Set a user's portal password (stored as an argon2 hash) if the policy accepts it; the user's
    existing tokens end (their generation is no longer the user's)."""
    user = uow.users.find(user_id)
    if user is None or not ctx.scope.can_see(user.account_id):
        raise NotFound("user", user_id)
    check_password(password, email=user.email, name=user.name)
    updated = replace(user, password_hash=hash_secret(password), token_generation=user.token_generation + 1)
    uow.users.update(updated)
    return updated


def revoke_token(store: AccessStore, ctx: Context, token_id: str, subject: str, expires_at: datetime) -> None:
    """RFC 7009: this token no longer works, on any node, until it would have expired."""
    if token_id:
        store.revoke_token(token_id, subject, expires_at, ctx.clock.now())


def authenticate_user(uow: UnitOfWork, email: str, password: str) -> User | None:
    """The user these portal credentials identify, else None; the same cost either way."""
    user = uow.users.find_by(email=email.strip().lower()) if len(email) <= 320 else None
    if not verify_secret(user.password_hash if user else None, password) or user is None:
        return None
    return user


def add_staff_user(
    uow: UnitOfWork, ctx: Context, account_id: str, name: str, *, email: str, language: str | None = None
) -> User:
    """An operator staff member or a partner administrator: an administrator with no telephony (CFG-2)."""
    party = _account(uow, ctx, account_id)
    if party.kind is PartyKind.CUSTOMER:
        raise InvalidInput("account_id", "Customers' users are added as directory users")
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200:
        raise InvalidInput("name", "name must have 1 to 200 characters")
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput("email", f"Not an e-mail address: {email!r}")
    if uow.users.find_by(email=email):
        raise Conflict(f"E-mail {email} is already used by a user", field="email")
    user = User(
        id=new_id("usr"),
        account_id=party.id,
        name=cleaned,
        created_at=ctx.clock.now(),
        role=Role.ADMINISTRATOR,
        no_service=True,  # staff have role rights, no telephony, and are not invoiced
        email=email,
        language=language,
    )
    uow.users.add(user)
    return user
