"""Web Meeting rooms (MTG-1, BIL-6): one row per room, its order and invoice, its gateway room.

meeting_rooms: a room of an account, ordered with the terms accepted (orders.id) and invoiced at
once (invoice_number, BIL-6); status ordered → active once that invoice is paid → closed. The
gateway columns hold the Janus video room's number, its secret and the key browsers join with.

Revision ID: 0030_meeting_rooms
Revises: 0020
Create Date: 2026-12-05 11:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0030_meeting_rooms"
down_revision: str | None = "0030_ivrconf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LISTS = (
    ("ix_meeting_rooms_account_name", ("account_id", "name", "id")),
    ("ix_meeting_rooms_account_ordered_at", ("account_id", "ordered_at", "id")),
    ("ix_meeting_rooms_account_status", ("account_id", "status")),
)


def upgrade() -> None:
    op.create_table(
        "meeting_rooms",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pin", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ordered_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("gateway_room", sa.BigInteger(), nullable=False),
        sa.Column("gateway_secret", sa.String(length=64), nullable=False),
        sa.Column("gateway_pin", sa.String(length=64), nullable=False),
        sa.Column("publishers", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("activated_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["parties.id"], name=op.f("fk_meeting_rooms_account_id_parties")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_meeting_rooms_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_rooms")),
        sa.UniqueConstraint("gateway_room", name=op.f("uq_meeting_rooms_gateway_room")),
    )
    with op.batch_alter_table("meeting_rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_rooms_account_id"), ["account_id"], unique=False)
        for name, columns in _LISTS:
            batch_op.create_index(name, list(columns), unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_rooms", schema=None) as batch_op:
        for name, _ in reversed(_LISTS):
            batch_op.drop_index(name)
        batch_op.drop_index(batch_op.f("ix_meeting_rooms_account_id"))
    op.drop_table("meeting_rooms")
