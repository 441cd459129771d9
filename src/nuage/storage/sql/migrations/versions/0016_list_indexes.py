"""list indexes: every list of the API reads its page off an index, whatever the tenant's size;
the directory change journal names the account a change belongs to

The API's lists page by keyset (the rows after the previous page's last sort value and id, within
the caller's account): each sort field of each list gets (owner, sort field, id), and each filter
of few values (a role, a flag) gets (owner, filter); the other filters were indexed already.
``ix_devices_account_kind`` (account_id, kind) becomes (account_id, kind, id).

The change journal (0009) gains ``account_id``: a write to a table whose rows belong to an account
journals the accounts it touched (each account once per statement on PostgreSQL, from the
statement's transition tables; per row on SQLite), so the SIP directory applies a change to
those accounts alone instead of rebuilding everything. A row without an account (the other
watched tables, a TRUNCATE) still means "anything in this table may have changed". The old
triggers are dropped if they exist (a downgrade that rebuilt a table in SQLite batch mode loses
them), so this revision also puts back those of the tables of accounts.

Revision ID: 0016
Revises: 0019
Create Date: 2026-12-05 08:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen here (``tables.LIST_INDEXES`` may grow in a later revision)
INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ix_carrier_trunks_name", "carrier_trunks", ("name", "id")),
    ("ix_carrier_trunks_created_at", "carrier_trunks", ("created_at", "id")),
    ("ix_carrier_trunks_enabled", "carrier_trunks", ("enabled",)),
    ("ix_conference_rooms_account_name", "conference_rooms", ("account_id", "name", "id")),
    ("ix_conference_rooms_account_created_at", "conference_rooms", ("account_id", "created_at", "id")),
    ("ix_devices_account_created_at", "devices", ("account_id", "created_at", "id")),
    ("ix_devices_account_label", "devices", ("account_id", "label", "id")),
    ("ix_devices_account_kind", "devices", ("account_id", "kind", "id")),
    ("ix_devices_account_hot_desk", "devices", ("account_id", "hot_desk")),
    ("ix_virtual_faxes_account_created_at", "virtual_faxes", ("account_id", "created_at", "id")),
    ("ix_virtual_faxes_account_email", "virtual_faxes", ("account_id", "email", "id")),
    ("ix_number_blocks_account_first_e164", "number_blocks", ("account_id", "first_e164", "id")),
    ("ix_number_blocks_account_created_at", "number_blocks", ("account_id", "created_at", "id")),
    ("ix_phone_numbers_account_e164", "phone_numbers", ("account_id", "e164", "id")),
    ("ix_phone_numbers_account_created_at", "phone_numbers", ("account_id", "created_at", "id")),
    ("ix_phone_numbers_account_scope", "phone_numbers", ("account_id", "scope")),
    ("ix_phone_numbers_account_main", "phone_numbers", ("account_id", "main")),
    ("ix_orders_customer_accepted_at", "orders", ("customer_id", "accepted_at", "id")),
    ("ix_orders_customer_service_start_on", "orders", ("customer_id", "service_start_on", "id")),
    ("ix_traffic_packs_account_created_at", "traffic_packs", ("account_id", "created_at", "id")),
    ("ix_traffic_packs_account_name", "traffic_packs", ("account_id", "name", "id")),
    ("ix_traffic_packs_account_valid_from", "traffic_packs", ("account_id", "valid_from", "id")),
    ("ix_parties_kind_name", "parties", ("kind", "name", "id")),
    ("ix_parties_kind_created_at", "parties", ("kind", "created_at", "id")),
    ("ix_parties_kind_status", "parties", ("kind", "status")),
    ("ix_communal_rooms_account_name", "communal_rooms", ("account_id", "name", "id")),
    ("ix_communal_rooms_account_created_at", "communal_rooms", ("account_id", "created_at", "id")),
    ("ix_communal_rooms_account_use", "communal_rooms", ("account_id", "use")),
    ("ix_sound_files_account_created_at", "sound_files", ("account_id", "created_at", "id")),
    ("ix_sound_files_account_name", "sound_files", ("account_id", "name", "id")),
    ("ix_trunks_account_name", "trunks", ("account_id", "name", "id")),
    ("ix_trunks_account_created_at", "trunks", ("account_id", "created_at", "id")),
    ("ix_trunks_account_auth", "trunks", ("account_id", "auth")),
    ("ix_users_account_name", "users", ("account_id", "name", "id")),
    ("ix_users_account_created_at", "users", ("account_id", "created_at", "id")),
    ("ix_users_account_extension", "users", ("account_id", "extension", "id")),
    ("ix_users_account_email", "users", ("account_id", "email", "id")),
    ("ix_users_account_role", "users", ("account_id", "role")),
    ("ix_users_account_no_service", "users", ("account_id", "no_service")),
    ("ix_web_channels_account_name", "web_channels", ("account_id", "name", "id")),
    ("ix_web_channels_account_created_at", "web_channels", ("account_id", "created_at", "id")),
    ("ix_api_clients_account_created_at", "api_clients", ("account_id", "created_at", "id")),
    ("ix_api_clients_account_name", "api_clients", ("account_id", "name", "id")),
)


#: watched tables whose rows belong to an account, and the column that names it
ACCOUNT_OF = {
    "parties": "id",
    "users": "account_id",
    "devices": "account_id",
    "phone_numbers": "account_id",
    "trunks": "account_id",
    "traffic_packs": "account_id",
    "call_limits": "account_id",
    "autodialer_blocks": "account_id",
}
_PG_FUNCTION = """
CREATE FUNCTION nuage_directory_changed_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    EXECUTE format(
      'INSERT INTO directory_changes (table_name, account_id) '
      'SELECT %L, a FROM (SELECT %I AS a FROM new_rows UNION SELECT %I FROM old_rows) AS changed',
      TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[0]);
  ELSE
    EXECUTE format(
      'INSERT INTO directory_changes (table_name, account_id) SELECT DISTINCT %L, %I FROM %I',
      TG_TABLE_NAME, TG_ARGV[0], CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END);
  END IF;
  RETURN NULL;
END $$
"""


def _journal(table: str, value: str) -> str:
    return f"INSERT INTO directory_changes (table_name, account_id) VALUES ('{table}', {value});"


def upgrade() -> None:
    op.drop_index("ix_devices_account_kind", table_name="devices")
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns), unique=False)
    op.add_column("directory_changes", sa.Column("account_id", sa.String(length=40), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table, column in ACCOUNT_OF.items():
            op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_{table} ON {table}")
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
    for table, column in ACCOUNT_OF.items():  # SQLite triggers fire per row
        for operation in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_{table}_{operation.lower()}")
        body = {
            "INSERT": _journal(table, f"NEW.{column}"),
            "DELETE": _journal(table, f"OLD.{column}"),
            "UPDATE": _journal(table, f"NEW.{column}")
            + f" INSERT INTO directory_changes (table_name, account_id) SELECT '{table}', OLD.{column} "
            f"WHERE OLD.{column} IS NOT NEW.{column};",
        }
        for operation, statements in body.items():
            op.execute(
                f"CREATE TRIGGER nuage_changed_{table}_{operation.lower()} AFTER {operation} ON {table} "
                f"BEGIN {statements} END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ACCOUNT_OF:
            for operation in ("insert", "update", "delete", "truncate"):
                op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_{table}_{operation} ON {table}")
            op.execute(
                f"CREATE TRIGGER nuage_changed_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION nuage_directory_changed()"
            )
        op.execute("DROP FUNCTION nuage_directory_changed_accounts()")
    else:
        for table in ACCOUNT_OF:
            for operation in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"DROP TRIGGER IF EXISTS nuage_changed_{table}_{operation.lower()}")
                op.execute(
                    f"CREATE TRIGGER nuage_changed_{table}_{operation.lower()} AFTER {operation} ON {table} "
                    f"BEGIN INSERT INTO directory_changes (table_name) VALUES ('{table}'); END"
                )
    op.drop_column("directory_changes", "account_id")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.create_index("ix_devices_account_kind", "devices", ["account_id", "kind"], unique=False)
