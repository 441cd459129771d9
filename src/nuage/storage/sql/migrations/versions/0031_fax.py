"""Received faxes (CFG-7, issue #16): one row per call to a virtual fax

received_faxes: the sender, the pages received, the status (received, partial, failed) and the
fax engine's reason; the PDF is kept in the data directory. Listed by fax and arrival.

Revision ID: 0031_fax
Revises: 0030_voicemail
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0031_fax"
down_revision: str | None = "0030_call_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "received_faxes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("fax_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("emailed_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["parties.id"], name=op.f("fk_received_faxes_account_id_parties")
        ),
        sa.ForeignKeyConstraint(
            ["fax_id"], ["virtual_faxes.id"], name=op.f("fk_received_faxes_fax_id_virtual_faxes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_faxes")),
    )
    with op.batch_alter_table("received_faxes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_received_faxes_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            "ix_received_faxes_fax_received_at", ["fax_id", "received_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("received_faxes", schema=None) as batch_op:
        batch_op.drop_index("ix_received_faxes_fax_received_at")
        batch_op.drop_index(batch_op.f("ix_received_faxes_account_id"))
    op.drop_table("received_faxes")
