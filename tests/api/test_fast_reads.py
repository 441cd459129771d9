"""The read path's primary-key reads give the very objects the repositories give, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from api.support import seed_demo
from nuage.bootstrap import Platform
from nuage.services.ports import NeedsDatabase, Prefetch
from nuage.storage.sql.api_reads import PostgresKeyReader, PrefetchedUnitOfWork, key_reader
from nuage.storage.sql.unit_of_work import MAPPERS


def _some_keys(platform: Platform) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    with platform.engine.connect() as connection:
        for name, (mapper, _, key) in MAPPERS.items():
            column = mapper.table.c[key]
            keys[name] = [row[0] for row in connection.execute(select(column).order_by(column).limit(5))]
    return keys


async def test_key_reads_equal_repository_reads(platform: Platform) -> None:
    seed_demo(platform)
    reader = key_reader(platform.engine)
    assert reader is not None
    keys = _some_keys(platform)
    assert sum(len(found) for found in keys.values()) > 20  # the demo fills most tables
    try:
        with platform.uow() as uow:
            for name, found in keys.items():
                repository: Any = getattr(uow, name)
                for key in found:
                    assert await reader.find(name, key) == repository.find(key), (name, key)
                assert await reader.find(name, "no-such-key") is None
    finally:
        await reader.close()


def test_prefetched_unit_of_work_answers_finds_only() -> None:
    fetched: dict[tuple[str, str], Any] = {("users", "usr_gone"): None}
    uow = PrefetchedUnitOfWork(fetched)
    assert uow.users.find("usr_gone") is None
    with pytest.raises(Prefetch) as need:
        uow.users.find("usr_1")
    assert (need.value.name, need.value.key) == ("users", "usr_1")
    with pytest.raises(Prefetch):
        uow.parties.get("cus_1")  # get goes through find
    for touch in (
        lambda: uow.users.list(account_id="cus_1"),
        lambda: uow.users.find_by(email="a@b.example"),
        lambda: uow.users.count(),
        lambda: uow.connection,
        lambda: uow.billing,
        uow.commit,
    ):
        with pytest.raises(NeedsDatabase):
            touch()


@pytest.mark.postgres
async def test_postgres_reader_drops_a_broken_connection(platform: Platform) -> None:
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    seed_demo(platform)
    reader = key_reader(platform.engine)
    assert isinstance(reader, PostgresKeyReader)
    key = _some_keys(platform)["users"][0]
    try:
        first = await reader.find("users", key)
        assert first is not None
        with platform.engine.begin() as connection:  # the server ends the reader's connection
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        with pytest.raises(NeedsDatabase):  # the caller then reads through the engine's pool
            await reader.find("users", key)
        assert await reader.find("users", key) == first  # a new connection
    finally:
        await reader.close()
