"""trunks.site: the address a customer declares for its PBX's phones (EMG-2)

The emergency readiness check compares it with the postal address of the block of the number the
trunk presents to emergency services, as it does a device's site.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.drop_column("site")
