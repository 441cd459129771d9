"""A large rating pass on SQLite writes from a process of its own (RAT-1..3, TEN-5, issue #22):
the same records as one process, one transaction, and nothing stored when either side fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, select

from billing_flow import Demo
from nuage.rating import rater
from nuage.services.billing import rating
from nuage.services.billing.cdr_import import import_cdrs
from nuage.services.billing.rating import rate_pending
from nuage.services.directory.media import add_traffic_pack
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.pass_process import PassProcessFailed, SqlitePassProcess
from nuage.storage.sql.billing.store import SqlBillingStore
from nuage.tenancy.model import PartyKind

HEADER = "cdr_id,account_id,started_at,destination,billable_seconds"
NEVER = 10**12  # a backlog no test reaches: the pass writes in this process


class _Crash(Exception):
    pass


SQLITE_ONLY = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)  # PostgreSQL: its own server


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SqlitePassProcess]]:
    """The writing processes the passes started, as they start."""
    started: list[SqlitePassProcess] = []
    offer = SqlBillingStore.rating_pass_process

    def recording(self: SqlBillingStore, job: str, min_backlog: int) -> Any:
        process = offer(self, job, min_backlog)
        if isinstance(process, SqlitePassProcess):
            started.append(process)
        return process

    monkeypatch.setattr(SqlBillingStore, "rating_pass_process", recording)
    yield started
    for process in started:
        assert process._child.returncode is not None, "a pass left its writing process running"


def _import_month(demo: Demo) -> None:
    """Calls of every customer of the demo (a partner's customers' calls are rated twice, TEN-5),
    one of them with a pack of two minutes (RAT-3)."""
    with demo.platform.uow() as uow:
        customers = [p for p in uow.parties.list() if p.kind is PartyKind.CUSTOMER]
        add_traffic_pack(
            uow, demo.ctx, demo.ids["Atelier Dupont"], "2 min", valid_from=date(2026, 1, 1), minutes=2
        )
        uow.commit()
    assert any(customer.partner_id is not None for customer in customers)
    rows = [
        f"m{n}-{customer.id},{customer.id},2026-01-{1 + n % 28:02d}T{8 + n % 10:02d}:{n % 60:02d}:07+01:00,"
        f"{('+3222001122', '+33145001122', '+32470001122')[n % 3]},{15 + 37 * n % 900}"
        for customer in customers
        for n in range(30)
    ]
    with demo.platform.uow() as uow:
        report = import_cdrs(
            uow, demo.ctx, ["cdr_id,account_id,started_at,destination,billable_seconds", *rows]
        )
    assert not report.errors


def _stored(demo: Demo) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with demo.platform.engine.connect() as connection:
        records = connection.execute(select(bt.rated_calls).order_by("cdr_id", "run")).all()
        balances = connection.execute(select(bt.pack_balances).order_by("pack_id", "run")).all()
    return [tuple(r) for r in records], [tuple(b) for b in balances]


def _forget(demo: Demo) -> None:
    with demo.platform.engine.begin() as connection:
        connection.execute(delete(bt.rated_calls))
        connection.execute(delete(bt.pack_balances))


@SQLITE_ONLY
@pytest.mark.rule("RAT-1")
@pytest.mark.rule("RAT-3")
@pytest.mark.rule("TEN-5")
def test_a_pass_written_from_its_own_process_stores_what_one_process_stores(
    demo: Demo, processes: list[SqlitePassProcess]
) -> None:
    _import_month(demo)
    alone = rate_pending(demo.platform.uow, demo.ctx, batch_size=7, process_from=NEVER)
    expected = _stored(demo)
    assert not processes
    _forget(demo)
    split = rate_pending(demo.platform.uow, demo.ctx, batch_size=7, process_from=0)
    assert len(processes) == 1
    assert split.stored == alone.stored
    assert split.stored["partner-wholesale"] > 0
    assert _stored(demo) == expected  # every column of every record, and the pack's balance
    assert any(balance for balance in expected[1])
    assert rate_pending(demo.platform.uow, demo.ctx, process_from=0).stored == {}


@SQLITE_ONLY
@pytest.mark.rule("RAT-1")
def test_a_pass_whose_writing_process_dies_stores_nothing_and_the_next_rates_every_call_once(
    demo: Demo, processes: list[SqlitePassProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    _import_month(demo)
    stream = SqlitePassProcess.stream
    sent = 0

    def dying(self: SqlitePassProcess, prepared: Any) -> Any:
        nonlocal sent
        sent += 1
        if sent == 3:  # two batches are in the child's transaction
            self._child.kill()
            self._child.wait()
        return stream(self, prepared)

    monkeypatch.setattr(SqlitePassProcess, "stream", dying)
    with pytest.raises(PassProcessFailed, match="stopped"):
        rate_pending(demo.platform.uow, demo.ctx, batch_size=7, process_from=0)
    assert sent >= 3
    assert _stored(demo) == ([], [])
    monkeypatch.setattr(SqlitePassProcess, "stream", stream)
    again = rate_pending(demo.platform.uow, demo.ctx, batch_size=7, process_from=0)
    records, _ = _stored(demo)
    assert sum(again.stored.values()) == len(records) == len({(r[0], r[1]) for r in records}) > 0


@SQLITE_ONLY
@pytest.mark.rule("RAT-1")
def test_a_pass_that_fails_while_pricing_rolls_its_writing_process_back(
    demo: Demo, processes: list[SqlitePassProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    _import_month(demo)
    calls = 0

    def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise _Crash
        return rater.rate_calls(*args, **kwargs)

    monkeypatch.setattr(rating, "rate_calls", failing)
    with pytest.raises(_Crash):
        rate_pending(demo.platform.uow, demo.ctx, batch_size=7, process_from=0)
    assert len(processes) == 1
    assert processes[0]._child.returncode == 0  # told to stop without a commit: rolled back
    assert _stored(demo) == ([], [])
    monkeypatch.setattr(rating, "rate_calls", rater.rate_calls)
    assert sum(rate_pending(demo.platform.uow, demo.ctx, process_from=0).stored.values()) > 0


@SQLITE_ONLY
def test_a_failure_in_the_writing_process_is_raised_in_the_pass(demo: Demo) -> None:
    url = demo.platform.engine.url.render_as_string(hide_password=False)
    process = SqlitePassProcess(url, "rating")
    try:
        process.begin()
        process._send(("neither a batch nor a question",))
        with pytest.raises(PassProcessFailed, match="unknown message 'neither a batch nor a question'"):
            process.commit()
    finally:
        process.close()
    assert process._child.returncode == 1


def test_a_small_backlog_or_postgresql_writes_in_the_pass_s_own_process(demo: Demo) -> None:
    with demo.platform.uow() as uow:
        assert uow.billing.rating_pass_process("rating", 1) is None  # nothing to rate
        assert uow.billing.rating_pass_process("rating", 10**9) is None
