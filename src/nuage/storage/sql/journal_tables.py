"""The crash journal of the SIP nodes (issue #20): calls in progress, until their CDR is stored, and
each node's last sign of life while it has calls journaled."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, String, Table

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

call_journal = Table(
    "call_journal",
    metadata,
    Column("node", String(128), primary_key=True),
    Column("call_id", String(256), primary_key=True),  # the caller's Call-ID ...
    Column("caller_tag", String(64), primary_key=True),  # ... and our tag in the caller's dialog
    Column("callee_call_id", String(256)),
    Column("callee_tag", String(64)),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("answered_at", UtcDateTime()),
    Column("caller", String(128), nullable=False),
    Column("callee", String(128), nullable=False),
    Column("account_id", String(ID)),
    Column("device_id", String(ID)),
    Column("carrier_trunk_id", String(ID)),
    Column("trunk_id", String(ID)),
    Column("direction", String(16), nullable=False),
    Column("emergency", Boolean, nullable=False),
)

call_journal_nodes = Table(  # each node's last sign of life while it had calls journaled
    "call_journal_nodes",
    metadata,
    Column("node", String(128), primary_key=True),
    Column("seen_at", UtcDateTime(), nullable=False),
)
