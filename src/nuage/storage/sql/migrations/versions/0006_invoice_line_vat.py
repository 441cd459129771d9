"""invoice lines: their own VAT category (BIL-4: S, AE, E with an exemption reason, O)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nuage.storage.sql.billing_tables

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: the line follows its invoice's VAT regime (every line issued before this revision).
    with op.batch_alter_table("invoice_lines") as batch:
        batch.add_column(sa.Column("vat_category", sa.String(length=2), nullable=True))
        batch.add_column(
            sa.Column(
                "vat_rate",
                nuage.storage.sql.billing_tables.ExactDecimal(precision=6, scale=4),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("vat_exemption_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("vat_exemption_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_column("vat_exemption_key")
        batch.drop_column("vat_exemption_code")
        batch.drop_column("vat_rate")
        batch.drop_column("vat_category")
