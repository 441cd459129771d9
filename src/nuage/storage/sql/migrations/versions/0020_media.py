"""The media plane (issue #15): an anchored call's quality on its CDR

cdrs.loss_percent, jitter_ms and mos: the worse stream's packet loss and jitter, and the E-model
MOS estimate, measured by the media engine when the call's media was released (null when the call
was not anchored).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 09:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUALITY = ("loss_percent", "jitter_ms", "mos")


def upgrade() -> None:
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        for name in _QUALITY:
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cdrs", schema=None) as batch_op:
        for name in reversed(_QUALITY):
            batch_op.drop_column(name)
