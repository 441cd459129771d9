"""SIP bans kept over restarts and shared by the SIP nodes of one database (SIP-5)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nuage.storage.sql.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sip_bans",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("since", nuage.storage.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("until", nuage.storage.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_sip_bans")),
    )
    with op.batch_alter_table("sip_bans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sip_bans_until"), ["until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sip_bans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sip_bans_until"))
    op.drop_table("sip_bans")
