"""Voicemail (issue #16): boxes (a user's own or shared by a group) and the messages left in them

voicemail_boxes: one per user (unique user_id) or shared (members), numbered within the account
(the number dialled after the deposit code), with a hashed PIN, language, e-mail, retention and the
greetings stored. voicemail_messages: one row per message (the FLAC file is kept in the data
directory), new until heard, then old; listed by box and arrival.

Revision ID: 0030_voicemail
Revises: 0020
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0030_voicemail"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voicemail_boxes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("attach_audio", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("max_message_s", sa.Integer(), nullable=False),
        sa.Column("greetings", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["parties.id"], name=op.f("fk_voicemail_boxes_account_id_parties")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_voicemail_boxes_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemail_boxes")),
        sa.UniqueConstraint("user_id", name=op.f("uq_voicemail_boxes_user_id")),
    )
    with op.batch_alter_table("voicemail_boxes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voicemail_boxes_account_id"), ["account_id"], unique=False)
        batch_op.create_index("uq_voicemail_boxes_account_number", ["account_id", "number"], unique=True)
    op.create_table(
        "voicemail_messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("box_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("folder", sa.String(length=8), nullable=False),
        sa.Column("caller_name", sa.String(length=200), nullable=False),
        sa.Column("heard_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["parties.id"], name=op.f("fk_voicemail_messages_account_id_parties")
        ),
        sa.ForeignKeyConstraint(
            ["box_id"], ["voicemail_boxes.id"], name=op.f("fk_voicemail_messages_box_id_voicemail_boxes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemail_messages")),
    )
    with op.batch_alter_table("voicemail_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_voicemail_messages_box_received_at", ["box_id", "received_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("voicemail_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_voicemail_messages_box_received_at")
    op.drop_table("voicemail_messages")
    with op.batch_alter_table("voicemail_boxes", schema=None) as batch_op:
        batch_op.drop_index("uq_voicemail_boxes_account_number")
        batch_op.drop_index(batch_op.f("ix_voicemail_boxes_account_id"))
    op.drop_table("voicemail_boxes")
