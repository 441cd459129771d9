"""directory change journal: triggers record, in the writer's transaction, that a table the SIP
directory or the call policy is built from changed, so their snapshots are rebuilt only then

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 09:42:02.711525
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen here: a later revision that watches more tables adds their triggers itself
WATCHED = (
    "parties",
    "users",
    "devices",
    "phone_numbers",
    "traffic_packs",
    "trunks",
    "carrier_trunks",
    "emergency_numbers",
    "hot_desk_sessions",
    "call_limits",
    "autodialer_blocks",
    "tariffs",
    "tariff_rates",
)
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "directory_changes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_changes")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION nuage_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN INSERT INTO directory_changes (table_name) VALUES (TG_TABLE_NAME); RETURN NULL; END $$"
        )
        for table in WATCHED:  # one row per statement, whatever the rows it touched
            op.execute(
                f"CREATE TRIGGER nuage_changed_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION nuage_directory_changed()"
            )
        return
    for table in WATCHED:  # SQLite triggers fire per row
        for operation in OPERATIONS:
            op.execute(
                f"CREATE TRIGGER nuage_changed_{table}_{operation.lower()} AFTER {operation} ON {table} "
                f"BEGIN INSERT INTO directory_changes (table_name) VALUES ('{table}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS nuage_directory_changed()")
    else:
        for table in WATCHED:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_{table}_{operation.lower()}")
    op.drop_table("directory_changes")
