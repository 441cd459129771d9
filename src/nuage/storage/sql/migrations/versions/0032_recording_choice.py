"""Call recording's choice and retention (CFG-9)

recording_settings.scope (all, users, numbers) and direction (inbound, outbound, both): which calls
of the account are recorded; user_ids and number_ids: the selected users and numbers (space-separated
ids); retention_days: how long a recording is held (null: until deleted). Existing settings keep
recording every call, in both directions, with no retention period.

Revision ID: 0032_recording_choice
Revises: 0032_meeting_gateways
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_recording_choice"
down_revision: str | None = "0032_meeting_gateways"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recording_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=8), server_default="all", nullable=False))
        batch_op.add_column(sa.Column("direction", sa.String(length=8), server_default="both", nullable=False))
        batch_op.add_column(sa.Column("user_ids", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("number_ids", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recording_settings", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
        batch_op.drop_column("number_ids")
        batch_op.drop_column("user_ids")
        batch_op.drop_column("direction")
        batch_op.drop_column("scope")
