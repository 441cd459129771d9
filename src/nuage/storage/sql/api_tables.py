"""Tables of the API (API-1..4): clients with hashed secrets, per-account limits, revoked tokens."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("secret_hash", String(200), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(ID)),
    Column("status_changed_at", UtcDateTime()),
)

api_limits = Table(
    "api_limits",
    metadata,
    Column("account_id", String(ID), ForeignKey("parties.id"), primary_key=True),
    Column("max_reads", Integer, nullable=False),
    Column("max_writes", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

api_revoked_tokens = Table(
    "api_revoked_tokens",
    metadata,
    Column("token_id", String(64), primary_key=True),  # RFC 7009: a revoked token's id (jti)
    Column("subject", String(64), nullable=False),  # the client or user it spoke for
    Column("expires_at", UtcDateTime(), nullable=False, index=True),  # kept until then
    Column("revoked_at", UtcDateTime(), nullable=False),
)

# the keyset pages of ``GET /api-clients`` (migration 0016; ``tables.LIST_INDEXES``)
Index(
    "ix_api_clients_account_created_at", api_clients.c.account_id, api_clients.c.created_at, api_clients.c.id
)
Index("ix_api_clients_account_name", api_clients.c.account_id, api_clients.c.name, api_clients.c.id)
