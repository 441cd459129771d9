"""The SQL side of ``nuage.services.security.ports.SecurityStore``, on an open unit of work's connection."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, and_, delete, insert, or_, select

from nuage.services.security.ports import AuditEvent, PortalJob, ResetToken, SecondFactor
from nuage.storage.sql.mapping import RowMapper
from nuage.storage.sql.repositories import SqlRepository
from nuage.storage.sql.sealing import Sealer, sealer_of
from nuage.storage.sql.security_tables import (
    audit_events,
    password_reset_tokens,
    portal_jobs,
    user_second_factors,
)


@lru_cache(maxsize=32)
def _factors(sealer: Sealer) -> RowMapper[SecondFactor]:
    """Second factors with their TOTP secret sealed at rest (``storage.sql.sealing``)."""
    return RowMapper(SecondFactor, user_second_factors, {"secret": (sealer.seal, sealer.open)})


_RESETS = RowMapper(ResetToken, password_reset_tokens)
_EVENTS = RowMapper(AuditEvent, audit_events)
_JOBS = RowMapper(PortalJob, portal_jobs)


class SqlSecurityStore:
    """Second factors, reset tokens, audit events and portal jobs in the unit of work's transaction."""

    def __init__(self, connection: Connection) -> None:
        self.resets = SqlRepository(connection, _RESETS, "password reset", "token_hash")
        self.jobs = SqlRepository(connection, _JOBS, "portal job", "id")
        self._connection = connection

    @property
    def factors(self) -> SqlRepository[SecondFactor]:
        """Users' second factors, their secrets sealed with the platform's key."""
        mapper = _factors(sealer_of(self._connection.engine))
        return SqlRepository(self._connection, mapper, "second factor", "user_id")

    def record(self, event: AuditEvent) -> None:
        """Keep one audit event."""
        self._connection.execute(insert(audit_events).values(**_EVENTS.to_row(event)))

    def events(
        self, accounts: Collection[str] | None, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[AuditEvent]:
        """The newest events first (after ``before``), of these accounts (as actor or subject)."""
        table = audit_events
        query = select(table)
        if accounts is not None:
            wanted = sorted(accounts)[:5000]
            query = query.where(or_(table.c.account_id.in_(wanted), table.c.actor_account_id.in_(wanted)))
        if before is not None:
            at, key = before
            query = query.where(or_(table.c.at < at, and_(table.c.at == at, table.c.id < key)))
        query = query.order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
        return [_EVENTS.from_row(row) for row in self._connection.execute(query).mappings()]

    def forget_resets(self, user_id: str, now: datetime) -> None:
        """Drop a user's reset tokens, and everyone's expired ones."""
        table = password_reset_tokens
        self._connection.execute(
            delete(table).where(or_(table.c.user_id == user_id, table.c.expires_at <= now))
        )
