"""contract_events: the audit trail of a contract's life (CTR-2, CTR-4)

Notices given and withdrawn, ends applied, bankruptcies declared and reversed: who did it, when,
why. Rows are only ever added.

Revision ID: 0023
Revises: 0016
Create Date: 2026-12-05 09:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0023"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contract_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(length=40), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=False),
    )
    op.create_index("ix_contract_events_customer_id", "contract_events", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_contract_events_customer_id", table_name="contract_events")
    op.drop_table("contract_events")
