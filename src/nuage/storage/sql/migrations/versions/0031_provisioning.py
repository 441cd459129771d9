"""Provisioning of the desk phones the operator supplies: one credential per phone, by MAC (HW-1)

Revision ID: 0031_provisioning
Revises: 0030_support_mail
Create Date: 2026-12-05 11:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0031_provisioning"
down_revision: str | None = "0030_support_mail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phone_credentials",
        sa.Column("device_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=12), nullable=False),
        sa.Column("vendor", sa.String(length=16), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("fetched_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("device_id"),
        sa.UniqueConstraint("token_hash", name="uq_phone_credentials_token_hash"),
    )
    op.create_index("ix_phone_credentials_account_id", "phone_credentials", ["account_id"])
    op.create_index("ix_phone_credentials_mac", "phone_credentials", ["mac"])


def downgrade() -> None:
    op.drop_index("ix_phone_credentials_mac", table_name="phone_credentials")
    op.drop_index("ix_phone_credentials_account_id", table_name="phone_credentials")
    op.drop_table("phone_credentials")
