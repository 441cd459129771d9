"""tariffs and price plans from the API (RAT-2, PAY-2): a prefix's description, minimum and
connection fee; a price list's interest reading

A tariff imported from a CSV carries, per prefix, a description, a minimum charge and a
connection fee per charged call (RAT-2); a price list may name the PAY-2 interest reading of the
parties billed with it (NULL: the operator's setting).

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-05 09:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.billing_tables import ExactDecimal

revision: str = "0018"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tariff_rates") as batch:
        batch.add_column(sa.Column("description", sa.String(length=80), nullable=False, server_default=""))
        batch.add_column(sa.Column("minimum", ExactDecimal(precision=18, scale=6), nullable=False, server_default="0"))
        batch.add_column(sa.Column("connection_fee", ExactDecimal(precision=18, scale=6), nullable=False, server_default="0"))
    with op.batch_alter_table("price_lists") as batch:
        batch.add_column(sa.Column("interest_reading", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("price_lists") as batch:
        batch.drop_column("interest_reading")
    with op.batch_alter_table("tariff_rates") as batch:
        batch.drop_column("connection_fee")
        batch.drop_column("minimum")
        batch.drop_column("description")
