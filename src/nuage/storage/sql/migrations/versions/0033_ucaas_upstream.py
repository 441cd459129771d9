"""Telavox activations ordered from the upstream provider, retried until answered (BIL-8)

Revision ID: 0033_ucaas_upstream
Revises: 0032_resale_prices
Create Date: 2026-12-05 12:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0033_ucaas_upstream"
down_revision: str | None = "0032_resale_prices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ucaas_upstream_orders",
        sa.Column(
            "activation_id", sa.String(length=40), sa.ForeignKey("ucaas_activations.id"), nullable=False
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", UtcDateTime(), nullable=True),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("activation_id"),
    )
    op.create_index("ix_ucaas_upstream_orders_state", "ucaas_upstream_orders", ["state"])


def downgrade() -> None:
    op.drop_index("ix_ucaas_upstream_orders_state", table_name="ucaas_upstream_orders")
    op.drop_table("ucaas_upstream_orders")
