"""rated calls: the uninvoiced index holds only calls not invoiced yet (RAT/BIL-3)

``ix_rated_calls_uninvoiced`` was (run, account_id, invoice_id) over every rated call, so
marking a call invoiced moved its index entry and the index grew with the whole history.
It becomes (run, account_id) limited to ``invoice_id IS NULL``: the monthly run reads only
what is left to invoice, and marking a call invoiced just drops its entry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNINVOICED = sa.text("invoice_id IS NULL")


def upgrade() -> None:
    op.drop_index("ix_rated_calls_uninvoiced", table_name="rated_calls")
    op.create_index(
        "ix_rated_calls_uninvoiced",
        "rated_calls",
        ["run", "account_id"],
        unique=False,
        sqlite_where=_UNINVOICED,
        postgresql_where=_UNINVOICED,
    )


def downgrade() -> None:
    op.drop_index("ix_rated_calls_uninvoiced", table_name="rated_calls")
    op.create_index(
        "ix_rated_calls_uninvoiced", "rated_calls", ["run", "account_id", "invoice_id"], unique=False
    )
