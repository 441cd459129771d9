"""Price lists name the monthly prices of the resale catalogue's items (BIL-8)

Revision ID: 0032_resale_prices
Revises: 0031_provisioning
Create Date: 2026-12-05 11:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_resale_prices"
down_revision: str | None = "0031_provisioning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("price_lists") as batch:
        batch.add_column(sa.Column("resale", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("price_lists") as batch:
        batch.drop_column("resale")
