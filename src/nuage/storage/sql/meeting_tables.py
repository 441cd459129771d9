"""Tables of Web Meeting (MTG-1, BIL-6): the meeting rooms, their order and invoice, their gateway
room (migration 0030_meeting_rooms, which also creates the keyset indexes of their API list) and the
gateway instance it was placed on (0032_meeting_gateways)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

meeting_rooms = Table(
    "meeting_rooms",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("pin", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("ordered_at", UtcDateTime(), nullable=False),
    Column("months", Integer, nullable=False),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False),
    Column("invoice_number", String(40), nullable=False),
    Column("gateway_room", BigInteger, nullable=False, unique=True),
    Column("gateway_secret", String(64), nullable=False),
    Column("gateway_pin", String(64), nullable=False),
    Column("publishers", Integer, nullable=False),
    Column("locked", Boolean, nullable=False),
    Column("activated_at", UtcDateTime()),
    Column("gateway_instance", String(40)),
)

# the keyset pages of ``GET /meeting-rooms`` (as ``tables.LIST_INDEXES`` does for the other lists)
Index("ix_meeting_rooms_account_name", meeting_rooms.c.account_id, meeting_rooms.c.name, meeting_rooms.c.id)
Index(
    "ix_meeting_rooms_account_ordered_at",
    meeting_rooms.c.account_id,
    meeting_rooms.c.ordered_at,
    meeting_rooms.c.id,
)
Index("ix_meeting_rooms_account_status", meeting_rooms.c.account_id, meeting_rooms.c.status)
