"""authentication hardening: users' token generation, revoked tokens (RFC 7009)

``users.token_generation``: portal tokens carry the generation they were issued in; setting a
password moves it on, which ends the user's existing tokens. ``api_revoked_tokens``: the ids of
tokens revoked before they expire, kept until then.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-05 08:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "api_revoked_tokens",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_api_revoked_tokens")),
    )
    op.create_index(
        op.f("ix_api_revoked_tokens_expires_at"), "api_revoked_tokens", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_api_revoked_tokens_expires_at"), table_name="api_revoked_tokens")
    op.drop_table("api_revoked_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_generation")
