"""The portal's long jobs (issue #17): a billing run started in the browser and its progress, kept
in storage so that every web process, and the same one after a restart, shows it. And the users'
TOTP secrets sealed at rest (``storage.sql.sealing``): the column widens for the sealed value, and
the secrets kept in clear until now are sealed with the platform's key (given by the platform
when it migrates; without it they stay readable and are sealed when next written). The audit log
says what was done to which object (verb, object type and id), beside the request it keeps.

Revision ID: 0032_portal
Revises: 0031_fax
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.sealing import Sealer, sealed
from nuage.storage.sql.types import UtcDateTime

revision: str = "0032_portal"
down_revision: str | None = "0031_fax"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seal_kept_secrets(sealing: bool) -> None:
    """Seal the secrets kept in clear (``sealing``), or open the sealed ones (going back)."""
    config = op.get_context().config
    key = config.attributes.get("secret_key") if config is not None else None
    if not key:
        return
    sealer = Sealer(key)
    factors = sa.table("user_second_factors", sa.column("user_id", sa.String()), sa.column("secret", sa.String()))
    connection = op.get_bind()
    for user_id, secret in connection.execute(sa.select(factors.c.user_id, factors.c.secret)).all():
        if sealed(secret) == sealing:
            continue
        value = sealer.seal(secret) if sealing else sealer.open(secret)
        connection.execute(factors.update().where(factors.c.user_id == user_id).values(secret=value))


def upgrade() -> None:
    with op.batch_alter_table("user_second_factors", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=64), type_=sa.String(length=255), existing_nullable=False
        )
    _seal_kept_secrets(True)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verb", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("object_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("object_id", sa.String(length=64), nullable=True))
    op.create_table(
        "portal_jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("moved_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("refused", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_jobs")),
    )
    op.create_index("ix_portal_jobs_kind_started_at", "portal_jobs", ["kind", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("object_id")
        batch_op.drop_column("object_type")
        batch_op.drop_column("verb")
    _seal_kept_secrets(False)
    with op.batch_alter_table("user_second_factors", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=255), type_=sa.String(length=64), existing_nullable=False
        )
    op.drop_index("ix_portal_jobs_kind_started_at", table_name="portal_jobs")
    op.drop_table("portal_jobs")
