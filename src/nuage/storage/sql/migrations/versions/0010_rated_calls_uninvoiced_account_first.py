"""rated calls: the uninvoiced index leads with the account (RAT/BIL-3)

``ix_rated_calls_uninvoiced`` was (run, account_id): nine entries in ten began with the same
15 characters (``customer-retail``), which every comparison of a sort or a descent read
before reaching the account. As (account_id, run) it serves the same look-ups (both columns
by equality), and the bulk rating pass on SQLite, which builds it again in one sort, builds it
in about four fifths of the time.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 17:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNINVOICED = sa.text("invoice_id IS NULL")


def _uninvoiced_index(columns: list[str]) -> None:
    op.drop_index("ix_rated_calls_uninvoiced", table_name="rated_calls")
    op.create_index(
        "ix_rated_calls_uninvoiced",
        "rated_calls",
        columns,
        unique=False,
        sqlite_where=_UNINVOICED,
        postgresql_where=_UNINVOICED,
    )


def upgrade() -> None:
    _uninvoiced_index(["account_id", "run"])


def downgrade() -> None:
    _uninvoiced_index(["run", "account_id"])
