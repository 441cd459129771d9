"""The media plane (issue #15): an anchored call's quality on its CDR, call recordings (CFG-9)

cdrs.loss_percent, jitter_ms and mos: the worse stream's packet loss and jitter, and the E-model
MOS estimate, measured by the media engine when the call's media was released (null when the call
was not anchored). call_recordings: one row per recorded call of an account (the file is kept in
the data directory), its bytes counted in the account's recording volume.

Revision ID: 0020
Revises: 0021
Create Date: 2026-12-05 09:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0020"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUALITY = ("loss_percent", "jitter_ms", "mos")


def upgrade() -> None:
    op.create_table(
        "call_recordings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=256), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["parties.id"], name=op.f("fk_call_recordings_account_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_recordings")),
    )
    with op.batch_alter_table("call_recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_recordings_account_id"), ["account_id"], unique=False)
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        for name in _QUALITY:
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_recordings_account_id"))
    op.drop_table("call_recordings")
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        for name in reversed(_QUALITY):
            batch_op.drop_column(name)
