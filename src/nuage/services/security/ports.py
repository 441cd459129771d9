"""What portal security keeps in storage: second factors, password-reset tokens, audit events,
and the portal's long jobs (a billing run started in the browser, with its progress).

``nuage.storage.sql.security_store`` implements :class:`SecurityStore` in the unit of work's
transaction (``uow.security``). Secrets a user types again (recovery codes, reset tokens) are kept
as SHA-256 digests only: they are long random values, so a fast digest is enough.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nuage.services.ports import Repository, UnitOfWork


@dataclass
class SecondFactor:
    """A user's TOTP second factor (RFC 6238), enabled once a first code was confirmed."""

    user_id: str
    secret: str  # base32, as the authenticator app holds it
    enabled_at: datetime
    last_step: int = 0  # the time step of the last accepted code: it and older ones are refused
    recovery_hashes: list[str] = field(default_factory=list)  # SHA-256 of the unused recovery codes


@dataclass
class ResetToken:
    """A password-reset link's token: its digest only, single use, expiring."""

    token_hash: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass
class AuditEvent:
    """One change: who (user or API client, and its account), when, what, from where, on which account."""

    id: str
    at: datetime
    actor_id: str
    actor_kind: str  # "user" or "client"
    actor_account_id: str
    account_id: str  # the account the change concerns (the actor's when the change names none)
    action: str  # e.g. "POST /api/v1/customers/cus_1/users", "login", "second-factor-enabled"
    address: str  # the client's IP address
    status: int = 200  # the outcome: the answer's status
    verb: str | None = None  # "created", "changed", "removed"; None: a named event (its action)
    object_type: str | None = None  # the kind of object changed ("device"), when the path names one
    object_id: str | None = None  # its id, when the path names it (not for one just created)


@dataclass
class PortalJob:
    """A long job started from the portal (``kind`` "billing-run"), and how far it went: stored, so
    every web process, and the same one after a restart, shows it. ``outcome`` is the job's report
    (plain JSON), ``refused`` why it ended without one (message, field, rule ID)."""

    id: str
    kind: str
    subject: str  # what it works on: a billing run's period ("2026-02")
    dry_run: bool
    started_at: datetime
    started_by: str  # the user's name, as shown
    done: int = 0
    total: int = 0
    moved_at: datetime | None = None  # its last progress: a job that stops moving was interrupted
    finished_at: datetime | None = None
    outcome: dict[str, Any] | None = None
    refused: dict[str, Any] | None = None


class SecurityStore(Protocol):
    """Second factors, reset tokens and audit events in the unit of work's transaction."""

    @property
    def factors(self) -> Repository[SecondFactor]: ...
    @property
    def resets(self) -> Repository[ResetToken]: ...
    @property
    def jobs(self) -> Repository[PortalJob]: ...
    def record(self, event: AuditEvent) -> None:
        """Keep one audit event."""
        ...

    def events(
        self, accounts: Collection[str] | None, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[AuditEvent]:
        """The newest events first (after ``before``), of these accounts (as actor or subject);
        ``None``: every account's."""
        ...

    def forget_resets(self, user_id: str, now: datetime) -> None:
        """Drop a user's reset tokens (all of them), and everyone's expired ones."""
        ...


class SecurityUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also keeps the portal's security records."""

    @property
    def security(self) -> SecurityStore: ...
