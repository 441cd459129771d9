"""Tables of portal security (migration ``0030_portalsec``): users' second factors, password-reset
tokens (digests only) and the audit log; and the portal's long jobs (``0032_portal``)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

user_second_factors = Table(
    "user_second_factors",
    metadata,
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret", String(255), nullable=False),  # the base32 TOTP secret, sealed (storage.sql.sealing)
    Column("enabled_at", UtcDateTime(), nullable=False),
    Column("last_step", BigInteger, nullable=False),  # the last accepted code's time step
    Column("recovery_hashes", JSON, nullable=False),  # SHA-256 digests of the unused recovery codes
)

password_reset_tokens = Table(
    "password_reset_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the link's token
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("used_at", UtcDateTime()),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_kind", String(8), nullable=False),
    Column("actor_account_id", String(ID), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("action", String(300), nullable=False),
    Column("address", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("verb", String(10)),  # 0032_portal: what was done, to which object
    Column("object_type", String(40)),
    Column("object_id", String(64)),
)

# newest first, overall and per account (as subject or as actor)
Index("ix_audit_events_at", audit_events.c.at, audit_events.c.id)
Index("ix_audit_events_account_at", audit_events.c.account_id, audit_events.c.at, audit_events.c.id)
Index(
    "ix_audit_events_actor_account_at",
    audit_events.c.actor_account_id,
    audit_events.c.at,
    audit_events.c.id,
)

portal_jobs = Table(
    "portal_jobs",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("subject", String(40), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("started_by", String(200), nullable=False),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("moved_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("outcome", JSON),
    Column("refused", JSON),
)
Index("ix_portal_jobs_kind_started_at", portal_jobs.c.kind, portal_jobs.c.started_at)
