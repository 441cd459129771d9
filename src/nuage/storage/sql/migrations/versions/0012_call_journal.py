"""call journal: the SIP nodes' calls in progress, and the disposition of a CDR (issue #20)

A node journals each call in progress (written behind) until its CDR is stored, with its last
sign of life, so that a node killed with calls up closes their CDRs when it starts again;
``cdrs.disposition`` says why a call ended when it is unusual ("interrupted by node failure",
"2xx never acknowledged").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nuage.storage.sql.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    instant = nuage.storage.sql.types.UtcDateTime
    op.create_table(
        "call_journal",
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("call_id", sa.String(length=256), nullable=False),
        sa.Column("caller_tag", sa.String(length=64), nullable=False),
        sa.Column("callee_call_id", sa.String(length=256), nullable=True),
        sa.Column("callee_tag", sa.String(length=64), nullable=True),
        sa.Column("started_at", instant(timezone=True), nullable=False),
        sa.Column("answered_at", instant(timezone=True), nullable=True),
        sa.Column("caller", sa.String(length=128), nullable=False),
        sa.Column("callee", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=True),
        sa.Column("device_id", sa.String(length=40), nullable=True),
        sa.Column("carrier_trunk_id", sa.String(length=40), nullable=True),
        sa.Column("trunk_id", sa.String(length=40), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("node", "call_id", "caller_tag", name=op.f("pk_call_journal")),
    )
    op.create_table(
        "call_journal_nodes",
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("seen_at", instant(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_call_journal_nodes")),
    )
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposition", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        batch_op.drop_column("disposition")
    op.drop_table("call_journal_nodes")
    op.drop_table("call_journal")
