"""The data plane's snapshots are brought up to date only with what changed in their tables.

Triggers (migration 0009, 0016) journal every write to the watched tables in the writer's own
transaction, naming the account it touched; ``ChangeFeed`` reads the journal before each update.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, insert, select, text, update

from nuage.bootstrap import Platform
from nuage.services.demo import load_demo
from nuage.storage.sql import tables
from nuage.storage.sql.sip_adapters import SqlSipDirectory
from nuage.storage.sql.snapshots import ACCOUNT_COLUMNS, ChangeFeed, Changes
from nuage.tenancy.model import PartyKind, PartyStatus


def _read(platform: Platform, feed: ChangeFeed) -> Changes:
    with platform.engine.connect() as connection:
        return feed.read(connection)


@pytest.mark.rule("CAP-3")
def test_every_write_to_a_watched_table_is_read_once_with_its_account_and_nothing_else_is(
    platform: Platform,
) -> None:
    feed = ChangeFeed(tables.WATCHED_TABLES)
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    assert _read(platform, feed).everything  # the first read: everything is to be read
    assert not _read(platform, feed)
    with platform.engine.begin() as connection:  # a CDR is not something a snapshot is built from
        connection.execute(
            insert(tables.cdrs).values(
                id="cdr-1",
                call_id="c1",
                direction="outbound",
                caller="a",
                callee="+32475123456",
                started_at=platform.clock.now(),
                ended_at=platform.clock.now(),
                billable_seconds=0,
                outcome="failed",
                sip_status=500,
                emergency=False,
                source="sip",
                recorded_at=platform.clock.now(),
            )
        )
    assert not _read(platform, feed)
    with platform.uow() as uow:  # PAY-1: a suspension must reach the call policy
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert party is not None
        uow.parties.update(replace(party, status=PartyStatus.SUSPENDED))
        uow.commit()
    assert _read(platform, feed) == Changes(
        accounts=frozenset({party.id}), account_tables=frozenset({"parties"})
    )
    with platform.uow() as uow:  # a rolled-back write leaves no trace
        uow.parties.update(replace(party, status=PartyStatus.ACTIVE))
    assert not _read(platform, feed)
    with platform.engine.begin() as connection:  # a table of no account: the table, whole
        connection.execute(
            insert(tables.emergency_numbers).values(
                number="1733", label="Doctor", created_at=platform.clock.now()
            )
        )
    assert _read(platform, feed) == Changes(tables=frozenset({"emergency_numbers"}))


def test_a_reader_the_pruned_journal_left_behind_reads_everything(platform: Platform) -> None:
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    pruning, behind = ChangeFeed(tables.WATCHED_TABLES, keep=50), ChangeFeed(tables.WATCHED_TABLES)
    for feed in (pruning, behind):
        _read(platform, feed)
    for n in range(60):
        with platform.engine.begin() as connection:
            connection.execute(
                update(tables.users).where(tables.users.c.extension == "211").values(name=f"A{n}")
            )
    assert _read(platform, pruning).accounts  # and it prunes all but the last few rows
    assert _read(platform, behind).everything


def test_a_transaction_committed_late_is_read_after_a_later_one(platform: Platform) -> None:
    """A journal id is drawn at the write, not at the commit (PostgreSQL writers run at once)."""
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: ids follow the commits")
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        accounts = sorted({user.account_id for user in uow.users.list()})[:2]
    feed = ChangeFeed(tables.WATCHED_TABLES)
    _read(platform, feed)
    with platform.engine.connect() as late:
        late.execute(update(tables.users).where(tables.users.c.account_id == accounts[0]).values(name="L"))
        with platform.engine.begin() as early:
            early.execute(
                update(tables.users).where(tables.users.c.account_id == accounts[1]).values(name="E")
            )
        assert _read(platform, feed).accounts == {accounts[1]}
        late.commit()
    assert _read(platform, feed).accounts == {accounts[0]}
    assert not _read(platform, feed)


OF_ACCOUNTS = ("_insert", "_update", "_delete", "_truncate")  # PostgreSQL: one trigger each (0016)


def test_each_watched_table_has_its_trigger(platform: Platform) -> None:
    """A migration that rebuilds a watched table (SQLite batch mode) must not lose its triggers."""
    with platform.engine.connect() as connection:
        if platform.engine.dialect.name == "postgresql":
            found = set(
                connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars()
            )
            expected = {
                f"nuage_changed_{table}{operation}"
                for table in tables.WATCHED_TABLES
                for operation in (OF_ACCOUNTS if table in ACCOUNT_COLUMNS else ("",))
            }
        else:
            found = set(
                connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
            )
            expected = {
                f"nuage_changed_{table}_{operation}"
                for table in tables.WATCHED_TABLES
                for operation in ("insert", "update", "delete")
            }
    assert expected <= found
    with platform.engine.connect() as connection:  # a wipe between tests may have journalled too
        highest = func.coalesce(func.max(tables.directory_changes.c.id), 0)
        before = connection.execute(select(highest)).scalar()
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    with platform.engine.connect() as connection:
        rows = connection.execute(
            select(tables.directory_changes.c.table_name, tables.directory_changes.c.account_id).where(
                tables.directory_changes.c.id > before
            )
        ).all()
    journalled = {table for table, _ in rows}
    assert {"parties", "users", "devices", "phone_numbers", "trunks", "carrier_trunks"} <= journalled
    assert journalled <= set(tables.WATCHED_TABLES)
    # migration 0016: a write to a table of accounts names the account it touched
    assert all(account is not None for table, account in rows if table in ACCOUNT_COLUMNS)
    assert all(account is None for table, account in rows if table not in ACCOUNT_COLUMNS)


async def test_the_sip_directory_rebuilds_only_after_a_change(platform: Platform) -> None:
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    directory = SqlSipDirectory(platform.engine, clock=platform.clock)
    await directory.reload()
    first = directory._view.value
    await directory.reload()
    assert directory._view.value is first  # nothing changed: the same snapshot, not rebuilt
    with platform.engine.begin() as connection:
        connection.execute(
            insert(tables.emergency_numbers).values(
                number="1733", label="Doctor", created_at=platform.clock.now()
            )
        )
    await directory.reload()
    assert directory._view.value is not first
    assert "1733" in directory._view.value.plan.emergency
