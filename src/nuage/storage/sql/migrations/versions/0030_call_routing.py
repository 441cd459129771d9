"""call routing (issue #15): users' call forwarding and do-not-disturb, ring groups

phone_numbers.ring_group_id: a number may ring a ring group. call_forwarding: one row per user (unconditional, busy, no-answer after N seconds, unregistered,
do-not-disturb); ring_groups: members in ring order, strategy, timeouts, fallback. Both tables get
the directory change journal's per-account triggers (as in 0016), so the SIP plane's view of an
account is rebuilt when its routing changes.

Revision ID: 0030_call_routing
Revises: 0020
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.types import UtcDateTime

revision: str = "0030_call_routing"
down_revision: str | None = "0030_sounds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen here (the function nuage_directory_changed_accounts comes from 0016)
WATCHED = {"call_forwarding": "account_id", "ring_groups": "account_id"}


def _journal(table: str, value: str) -> str:
    return f"INSERT INTO directory_changes (table_name, account_id) VALUES ('{table}', {value});"


def upgrade() -> None:
    op.create_table(
        "call_forwarding",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("unconditional", sa.String(length=32), nullable=True),
        sa.Column("busy", sa.String(length=32), nullable=True),
        sa.Column("no_answer", sa.String(length=32), nullable=True),
        sa.Column("no_answer_s", sa.Integer(), nullable=False),
        sa.Column("unregistered", sa.String(length=32), nullable=True),
        sa.Column("dnd", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_call_forwarding_user_id_users")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["parties.id"], name=op.f("fk_call_forwarding_account_id_parties")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_call_forwarding")),
    )
    op.create_index(op.f("ix_call_forwarding_account_id"), "call_forwarding", ["account_id"], unique=False)
    op.create_table(
        "ring_groups",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=True),
        sa.Column("member_timeout_s", sa.Integer(), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("fallback", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["parties.id"], name=op.f("fk_ring_groups_account_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ring_groups")),
        sa.UniqueConstraint("account_id", "extension", name="uq_ring_groups_account_extension"),
    )
    op.create_index(op.f("ix_ring_groups_account_id"), "ring_groups", ["account_id"], unique=False)
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ring_group_id", sa.String(length=40), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for table, column in WATCHED.items():
            for operation, referencing in (
                ("INSERT", "NEW TABLE AS new_rows"),
                ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                ("DELETE", "OLD TABLE AS old_rows"),
            ):
                op.execute(
                    f"CREATE TRIGGER nuage_changed_{table}_{operation.lower()} AFTER {operation} ON {table} "
                    f"REFERENCING {referencing} FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION nuage_directory_changed_accounts('{column}')"
                )
            op.execute(
                f"CREATE TRIGGER nuage_changed_{table}_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION nuage_directory_changed()"
            )
        return
    for table, column in WATCHED.items():  # SQLite triggers fire per row
        body = {
            "INSERT": _journal(table, f"NEW.{column}"),
            "DELETE": _journal(table, f"OLD.{column}"),
            "UPDATE": _journal(table, f"NEW.{column}"),
        }
        for operation, statements in body.items():
            op.execute(
                f"CREATE TRIGGER nuage_changed_{table}_{operation.lower()} AFTER {operation} ON {table} "
                f"BEGIN {statements} END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        for operation in ("insert", "update", "delete", "truncate"):
            if postgresql:
                op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_{table}_{operation} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_{table}_{operation}")
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.drop_column("ring_group_id")
    if not postgresql:  # SQLite rebuilt the table without its change-journal triggers (0016's)
        body = {
            "INSERT": _journal("phone_numbers", "NEW.account_id"),
            "DELETE": _journal("phone_numbers", "OLD.account_id"),
            "UPDATE": _journal("phone_numbers", "NEW.account_id")
            + " INSERT INTO directory_changes (table_name, account_id) SELECT 'phone_numbers', OLD.account_id "
            "WHERE OLD.account_id IS NOT NEW.account_id;",
        }
        for operation, statements in body.items():
            op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_phone_numbers_{operation.lower()}")
            op.execute(
                f"CREATE TRIGGER nuage_changed_phone_numbers_{operation.lower()} AFTER {operation} "
                f"ON phone_numbers BEGIN {statements} END"
            )
    op.drop_index(op.f("ix_ring_groups_account_id"), table_name="ring_groups")
    op.drop_table("ring_groups")
    op.drop_index(op.f("ix_call_forwarding_account_id"), table_name="call_forwarding")
    op.drop_table("call_forwarding")
