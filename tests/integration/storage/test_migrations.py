"""The shipped migrations build the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from nuage.bootstrap import Platform
from nuage.storage.sql import billing_tables, payments_tables  # noqa: F401  (their tables join the metadata)
from nuage.storage.sql.engine import make_engine
from nuage.storage.sql.migrate import alembic_config, upgrade
from nuage.storage.sql.tables import metadata


def test_the_migrated_schema_is_the_declared_one(platform: Platform) -> None:
    with platform.engine.connect() as connection:
        differences: list[Any] = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def _uninvoiced_columns(url: str) -> list[str | None]:
    engine = make_engine(url)
    try:
        indexes = inspect(engine).get_indexes("rated_calls")
    finally:
        engine.dispose()
    (index,) = [i for i in indexes if i["name"] == "ix_rated_calls_uninvoiced"]
    return list(index["column_names"])


def _differences(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found: list[Any] = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    return found


def test_the_uninvoiced_index_leads_with_the_account_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nuage.db'}"
    upgrade(url, "0009")
    assert _uninvoiced_columns(url) == ["run", "account_id"]
    assert {kind for kind, *_ in _differences(url)} == {"remove_index", "add_index"}  # seen as stale
    upgrade(url)
    assert _uninvoiced_columns(url) == ["account_id", "run"]
    assert _differences(url) == []
    command.downgrade(alembic_config(url), "0009")
    assert _uninvoiced_columns(url) == ["run", "account_id"]
