"""Platforms for the tests: on real databases (SQLite, a file with WAL, and PostgreSQL, wiped after),
or in memory for the use cases' rules."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.shared.clock import FrozenClock
from nuage.storage.memory.unit_of_work import MemoryUnitOfWorkFactory
from nuage.storage.sql.migrate import current_revision, head_revision


def wipe(platform: Platform) -> None:
    """Empty every table of the schema. On PostgreSQL only the tables holding rows are truncated
    (one query finds them): a TRUNCATE of the whole schema makes new files for every table and
    index, seconds on a loaded machine, mostly for tables a test never wrote."""
    from sqlalchemy import text

    from nuage.storage.sql.tables import metadata

    with platform.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            tables = metadata.sorted_tables
            probe = " UNION ALL ".join(
                f'SELECT {index} WHERE EXISTS (SELECT 1 FROM "{table.name}")'
                for index, table in enumerate(tables)
            )
            used = [tables[index] for (index,) in connection.execute(text(probe))]
            if used:
                names = ", ".join(f'"{t.name}"' for t in used)
                connection.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())


_SQLITE_TEMPLATE: list[Path] = []
"""This process's migrated, empty SQLite file (made once, by the migrations), copied for each test."""


_HEAD: list[str | None] = []


def _head() -> str | None:
    """The newest migration (read once: Alembic's check that a database is at the head reads every
    revision file, for each test)."""
    if not _HEAD:
        _HEAD.append(head_revision("sqlite://"))
    return _HEAD[0]


def migrated_platform(settings: Settings, clock: FrozenClock) -> Platform:
    """``build_platform`` on a database brought to the newest revision: migrated only when it is not
    there (the first test of the run on the run's PostgreSQL database, or after a test went back)."""
    built = build_platform(settings, clock=clock)
    if current_revision(built.engine) == _head():
        return built
    built.close()
    return build_platform(settings, migrate=True, clock=clock)


def _sqlite_template(request: pytest.FixtureRequest) -> Path:
    if not _SQLITE_TEMPLATE:
        folder = request.getfixturevalue("tmp_path_factory").mktemp("migrated-sqlite")
        build_platform(Settings(data_dir=folder), migrate=True).close()
        assert not (folder / "nuage.db-wal").exists(), "the migrated file is whole once closed"
        _SQLITE_TEMPLATE.append(folder / "nuage.db")
    return _SQLITE_TEMPLATE[0]


@contextmanager
def open_platform(
    request: pytest.FixtureRequest, database: str, tmp_path: Path, clock: FrozenClock
) -> Iterator[Platform]:
    """A migrated platform on ``database`` ("sqlite": a file with WAL, or "postgresql"), wiped after.

    The SQLite file is a copy of one this process migrated (the migrations run once, not for each
    test); PostgreSQL's database is the run's, migrated when it is not at the head, and emptied.
    """
    url = None
    folder = tmp_path / "data"
    if database == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(_sqlite_template(request), folder / "nuage.db")
    settings = Settings(data_dir=folder, database_url=url)
    if database == "postgresql":
        built = migrated_platform(settings, clock)
        wipe(built)
    else:
        built = build_platform(settings, clock=clock)
    try:
        yield built
    finally:
        if database == "postgresql":
            wipe(built)
        built.close()


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass(frozen=True)
class MemoryPlatform:
    """What the use-case tests need of a platform: units of work (in memory) and the clock."""

    uow: MemoryUnitOfWorkFactory
    clock: FrozenClock
