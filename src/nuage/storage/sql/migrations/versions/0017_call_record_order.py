"""cdrs: the call records' keyset order across accounts (SIP-1)

The operator's and a partner's call-record pages run over several accounts in (started_at, id)
order; with only (account_id, started_at) indexed, each page would sort every CDR first.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cdrs_started_id", "cdrs", ["started_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_cdrs_started_id", table_name="cdrs")
