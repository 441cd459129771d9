"""Platforms for the tests: on real databases (SQLite, a file with WAL, and PostgreSQL, wiped after),
or in memory for the use cases' rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.shared.clock import FrozenClock
from nuage.storage.memory.unit_of_work import MemoryUnitOfWorkFactory


def _wipe(platform: Platform) -> None:
    from sqlalchemy import text

    from nuage.storage.sql.tables import metadata

    with platform.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())


@contextmanager
def open_platform(
    request: pytest.FixtureRequest, database: str, tmp_path: Path, clock: FrozenClock
) -> Iterator[Platform]:
    """A migrated platform on ``database`` ("sqlite": a file with WAL, or "postgresql"), wiped after."""
    url = None
    if database == "postgresql":
        url = request.getfixturevalue("postgres_url")
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    built = build_platform(settings, migrate=True, clock=clock)
    if database == "postgresql":
        _wipe(built)
    try:
        yield built
    finally:
        if database == "postgresql":
            _wipe(built)
        built.close()


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass(frozen=True)
class MemoryPlatform:
    """What the use-case tests need of a platform: units of work (in memory) and the clock."""

    uow: MemoryUnitOfWorkFactory
    clock: FrozenClock
