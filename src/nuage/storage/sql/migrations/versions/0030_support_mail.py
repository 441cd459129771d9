"""Support by e-mail and attachments: a ticket's contact address, the files and calls attached to
tickets, and the outbox of the e-mails sent about them (SUP-1)

Revision ID: 0030_support_mail
Revises: 0020
Create Date: 2026-12-05 11:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0030_support_mail"
down_revision: str | None = "0030_portalsec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("support_tickets") as batch:
        batch.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))
    op.create_table(
        "support_attachments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), sa.ForeignKey("support_tickets.id"), nullable=False),
        sa.Column("account_id", sa.String(length=40), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=160), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_support_attachments_ticket_id", "support_attachments", ["ticket_id"])
    op.create_index("ix_support_attachments_account_id", "support_attachments", ["account_id"])
    op.create_table(
        "support_attachment_bytes",
        sa.Column(
            "attachment_id", sa.String(length=40), sa.ForeignKey("support_attachments.id"), nullable=False
        ),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("attachment_id"),
    )
    op.create_table(
        "support_mails",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", UtcDateTime(), nullable=True),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_support_mails_state", "support_mails", ["state"])


def downgrade() -> None:
    op.drop_index("ix_support_mails_state", table_name="support_mails")
    op.drop_table("support_mails")
    op.drop_table("support_attachment_bytes")
    op.drop_index("ix_support_attachments_account_id", table_name="support_attachments")
    op.drop_index("ix_support_attachments_ticket_id", table_name="support_attachments")
    op.drop_table("support_attachments")
    with op.batch_alter_table("support_tickets") as batch:
        batch.drop_column("contact_email")
