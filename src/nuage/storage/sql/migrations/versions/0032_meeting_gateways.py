"""Web Meeting on several gateway instances (MTG-1): the instance each room was placed on.

meeting_rooms.gateway_instance: the name of the Janus instance (``[janus]`` settings) the room opened
on; NULL for rooms ordered but not opened yet, and for rooms opened before there were several
instances (they live on the first one, ``default``).

Revision ID: 0032_meeting_gateways
Revises: 0032_portal
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_meeting_gateways"
down_revision: str | None = "0032_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gateway_instance", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting_rooms", schema=None) as batch_op:
        batch_op.drop_column("gateway_instance")
