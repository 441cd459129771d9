"""Tables of portal security (migration ``0030_portalsec``): users' second factors, password-reset
tokens (digests only) and the audit log."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Table

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

user_second_factors = Table(
    "user_second_factors",
    metadata,
    Column("user_id", String(ID), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret", String(64), nullable=False),  # base32 TOTP secret
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
