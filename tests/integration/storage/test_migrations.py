"""The shipped migrations build the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from nuage.bootstrap import Platform
from nuage.storage.sql import (  # noqa: F401  (their tables join the metadata)
    billing_tables,
    payments_tables,
    security_tables,
    support_tables,
)
from nuage.storage.sql.engine import make_engine
from nuage.storage.sql.migrate import alembic_config, upgrade
from nuage.storage.sql.tables import metadata


def test_the_migrated_schema_is_the_declared_one(platform: Platform) -> None:
    with platform.engine.connect() as connection:
        differences: list[Any] = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


@contextmanager
def _connected(url: str) -> Iterator[Connection]:
    """A connection of its own to the database at ``url`` (the migrations run outside the platform)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _uninvoiced_columns(url: str) -> list[str | None]:
    with _connected(url) as connection:
        indexes = inspect(connection).get_indexes("rated_calls")
    (index,) = [i for i in indexes if i["name"] == "ix_rated_calls_uninvoiced"]
    return list(index["column_names"])


def _differences(url: str) -> list[Any]:
    with _connected(url) as connection:
        found: list[Any] = compare_metadata(MigrationContext.configure(connection), metadata)
    return found


def test_the_uninvoiced_index_leads_with_the_account_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nuage.db'}"
    upgrade(url, "0009")
    assert _uninvoiced_columns(url) == ["run", "account_id"]
    on_rated_calls = [  # later revisions add differences of their own
        d
        for d in _differences(url)
        if d[0] in ("remove_index", "add_index") and d[1].table.name == "rated_calls"
    ]
    assert {kind for kind, *_ in on_rated_calls} == {"remove_index", "add_index"}  # seen as stale
    upgrade(url)
    assert _uninvoiced_columns(url) == ["account_id", "run"]
    assert _differences(url) == []
    command.downgrade(alembic_config(url), "0009")
    assert _uninvoiced_columns(url) == ["run", "account_id"]


def test_the_key_columns_of_rated_calls_compare_byte_by_byte_on_postgresql_and_go_back(
    platform: Platform,
) -> None:
    """Migration 0011: ``COLLATE "C"`` on PostgreSQL; SQLite compares text byte by byte anyway."""
    url = platform.engine.url.render_as_string(hide_password=False)
    postgresql = platform.engine.dialect.name == "postgresql"

    def collations() -> dict[str, str]:
        if not postgresql:
            return {}
        with _connected(url) as connection:
            rows = connection.exec_driver_sql(
                "SELECT a.attname, c.collname FROM pg_attribute a "
                "JOIN pg_collation c ON c.oid = a.attcollation "
                "WHERE a.attrelid = 'rated_calls'::regclass "
                "AND a.attname IN ('cdr_id', 'run', 'account_id')"
            ).all()
        return {name: collation for name, collation in rows}

    bytewise = {"cdr_id": "C", "run": "C", "account_id": "C"} if postgresql else {}
    assert collations() == bytewise
    command.downgrade(alembic_config(url), "0010")
    assert collations() == ({name: "default" for name in bytewise})
    upgrade(url)
    assert collations() == bytewise
    assert _differences(url) == []


def test_the_list_indexes_come_and_go_back(tmp_path: Path) -> None:
    """Migration 0016: (owner, sort field, id) for every list; the devices' kind index gains the id."""
    url = f"sqlite:///{tmp_path / 'nuage.db'}"

    def indexes(table: str) -> dict[str, list[str | None]]:
        with _connected(url) as connection:
            return {i["name"]: list(i["column_names"]) for i in inspect(connection).get_indexes(table)}

    upgrade(url)
    assert indexes("users")["ix_users_account_name"] == ["account_id", "name", "id"]
    assert indexes("devices")["ix_devices_account_kind"] == ["account_id", "kind", "id"]
    assert _differences(url) == []
    command.downgrade(alembic_config(url), "0019")
    assert "ix_users_account_name" not in indexes("users")
    assert indexes("devices")["ix_devices_account_kind"] == ["account_id", "kind"]


def test_conference_pins_are_hashed_by_the_migration_that_drops_them(tmp_path: Path) -> None:
    """0030_ivrconf: a room's PIN in clear becomes an argon2 hash the PIN still matches."""
    import sqlite3

    from nuage.services.access import verify_secret

    path = tmp_path / "nuage.db"
    url = f"sqlite:///{path}"
    upgrade(url, "0030_voicemail")
    with sqlite3.connect(path) as raw:
        required = [row for row in raw.execute("PRAGMA table_info(parties)") if row[3] and row[4] is None]
        values = {row[1]: "2026-01-01 00:00:00" if row[1].endswith("_at") else "x" for row in required}
        values.update(id="acc_1", kind="customer", country="BE", language="en")
        raw.execute(
            f"INSERT INTO parties ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
            tuple(values.values()),
        )
        raw.execute(
            "INSERT INTO conference_rooms (id, account_id, name, created_at, pin) "
            "VALUES ('conf_1', 'acc_1', 'Board', '2026-01-01 00:00:00', '4321')"
        )
    upgrade(url)
    with sqlite3.connect(path) as raw:
        (pin_hash,) = raw.execute("SELECT pin_hash FROM conference_rooms WHERE id = 'conf_1'").fetchone()
        columns = [row[1] for row in raw.execute("PRAGMA table_info(conference_rooms)")]
    assert "pin" not in columns
    assert "4321" not in pin_hash
    assert verify_secret(pin_hash, "4321")
    assert not verify_secret(pin_hash, "1234")
