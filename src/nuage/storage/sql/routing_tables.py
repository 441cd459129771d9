"""Tables of call routing (issue #15): users' call forwarding and do-not-disturb, ring groups.

Both are watched by the directory change journal (migration 0030): the SIP plane's view of an
account is rebuilt when its forwarding or its groups change.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

DESTINATION = 32

call_forwarding = Table(  # 0030: one row per user who set forwarding or do-not-disturb
    "call_forwarding",
    metadata,
    Column("user_id", String(ID), ForeignKey("users.id"), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("unconditional", String(DESTINATION)),
    Column("busy", String(DESTINATION)),
    Column("no_answer", String(DESTINATION)),
    Column("no_answer_s", Integer, nullable=False),
    Column("unregistered", String(DESTINATION)),
    Column("dnd", Boolean, nullable=False),
)

ring_groups = Table(  # 0030
    "ring_groups",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("strategy", String(16), nullable=False),
    Column("members", Text, nullable=False),  # user ids in ring order, space-separated
    Column("extension", String(16)),
    Column("member_timeout_s", Integer, nullable=False),
    Column("timeout_s", Integer, nullable=False),
    Column("fallback", String(DESTINATION)),
    UniqueConstraint("account_id", "extension", name="uq_ring_groups_account_extension"),
)

#: the routing tables the change journal watches, and the column naming their account
WATCHED_ROUTING = {"call_forwarding": "account_id", "ring_groups": "account_id"}
