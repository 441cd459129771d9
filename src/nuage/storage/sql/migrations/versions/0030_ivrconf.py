"""Call applications (issue #16): schedules, auto-attendant menus, numbers they answer, conference
rooms' hashed PINs, moderator PIN and extension, and their live participants

conference_rooms.pin (the PIN in clear) becomes pin_hash: each existing PIN is hashed (argon2id)
here, then the clear column is dropped; a downgrade cannot bring the PINs back (rooms lose them).

Revision ID: 0030_ivrconf
Revises: 0030_voicemail (chained after it when the voicemail branch was merged in)
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.services.access import hash_secret
from nuage.storage.sql.types import UtcDateTime

revision: str = "0030_ivrconf"
down_revision: str | None = "0030_voicemail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DESTINATION = 80
# frozen here (``app_tables.LIST_INDEXES`` may grow in a later revision)
_LIST_INDEXES = tuple(
    (f"ix_{table}_account_{field}", table, ("account_id", field, "id"))
    for table in ("schedules", "ivr_menus")
    for field in ("created_at", "name")
)


def _account() -> sa.Column[str]:
    return sa.Column("account_id", sa.String(length=40), nullable=False)


def _owned(table: str, *columns: sa.schema.SchemaItem, key: str = "id") -> None:
    op.create_table(
        table,
        *columns,
        sa.ForeignKeyConstraint(["account_id"], ["parties.id"], name=op.f(f"fk_{table}_account_id_parties")),
        sa.PrimaryKeyConstraint(key, name=op.f(f"pk_{table}")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_account_id"), ["account_id"], unique=False)


def upgrade() -> None:
    with op.batch_alter_table("conference_rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("moderator_pin_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("extension", sa.String(length=8), nullable=True))
    rooms = sa.table("conference_rooms", sa.column("id"), sa.column("pin"), sa.column("pin_hash"))
    connection = op.get_bind()
    for room_id, pin in connection.execute(sa.select(rooms.c.id, rooms.c.pin).where(rooms.c.pin.is_not(None))):
        connection.execute(rooms.update().where(rooms.c.id == room_id).values(pin_hash=hash_secret(pin)))
    with op.batch_alter_table("conference_rooms", schema=None) as batch_op:
        batch_op.drop_column("pin")
    _owned(
        "schedules",
        sa.Column("id", sa.String(length=40), nullable=False),
        _account(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("open_destination", sa.String(length=_DESTINATION), nullable=False),
        sa.Column("closed_destination", sa.String(length=_DESTINATION), nullable=False),
        sa.Column("holiday_destination", sa.String(length=_DESTINATION), nullable=True),
        sa.Column("observe_holidays", sa.Boolean(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("exceptions", sa.JSON(), nullable=False),
    )
    _owned(
        "ivr_menus",
        sa.Column("id", sa.String(length=40), nullable=False),
        _account(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("prompt", sa.String(length=60), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("invalid_prompt", sa.String(length=60), nullable=False),
        sa.Column("timeout_destination", sa.String(length=_DESTINATION), nullable=True),
        sa.Column("invalid_destination", sa.String(length=_DESTINATION), nullable=True),
    )
    _owned(
        "number_applications",
        sa.Column("number_id", sa.String(length=40), nullable=False),
        _account(),
        sa.Column("destination", sa.String(length=_DESTINATION), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["number_id"], ["phone_numbers.id"], name=op.f("fk_number_applications_number_id_phone_numbers")
        ),
        key="number_id",
    )
    _owned(
        "conference_participants",
        sa.Column("id", sa.String(length=256), nullable=False),
        _account(),
        sa.Column("room_id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("joined_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("moderator", sa.Boolean(), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("kicked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["conference_rooms.id"], name=op.f("fk_conference_participants_room_id_conference_rooms")
        ),
    )
    with op.batch_alter_table("conference_participants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conference_participants_room_id"), ["room_id"], unique=False)
    for name, table, columns in _LIST_INDEXES:
        op.create_index(name, table, list(columns))


def downgrade() -> None:
    for name, table, _ in _LIST_INDEXES:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("conference_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conference_participants_room_id"))
    for table in ("conference_participants", "number_applications", "ivr_menus", "schedules"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_account_id"))
        op.drop_table(table)
    with op.batch_alter_table("conference_rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin", sa.String(length=16), nullable=True))
        batch_op.drop_column("extension")
        batch_op.drop_column("moderator_pin_hash")
        batch_op.drop_column("pin_hash")
