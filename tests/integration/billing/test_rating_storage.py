"""Rating storage paths (RAT-1..3): streamed batches, bulk writes, idempotency across failures."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select

from billing_flow import Demo
from nuage.rating.runs import RatingRun
from nuage.services.billing.cdr_import import import_cdrs, imported_cdr_id
from nuage.services.billing.ports import PendingBatch, PreparedRatedCalls
from nuage.services.billing.rating import rate_pending
from nuage.services.directory.media import add_traffic_pack
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql import tables as t
from nuage.storage.sql.billing import rated_copy, rated_sqlite
from nuage.storage.sql.billing.store import SqlBillingStore

RETAIL = "customer-retail"


class _Crash(Exception):
    pass


def _import(demo: Demo, rows: list[str]) -> None:
    with demo.platform.uow() as uow:
        report = import_cdrs(
            uow, demo.ctx, ["cdr_id,account_id,started_at,destination,billable_seconds", *rows]
        )
    assert not report.errors


def _rated(demo: Demo) -> list[tuple[str, str, object]]:
    r = bt.rated_calls
    with demo.platform.engine.connect() as connection:
        return sorted(connection.execute(select(r.c.cdr_id, r.c.run, r.c.amount_precise)).all())


def _calls(demo: Demo, count: int, day: int) -> list[str]:
    dupont = demo.ids["Atelier Dupont"]
    return [
        f"c{day}-{n},{dupont},2026-01-{day:02d}T10:{n:02d}:00+01:00,+3222001122,{60 + n}"
        for n in range(count)
    ]


def _storing_fails_at(
    monkeypatch: pytest.MonkeyPatch, write: int, look: Callable[[SqlBillingStore], None] | None = None
) -> Callable[[], None]:
    """The ``write``-th store of cost records in a pass fails, after ``look`` saw the pass's
    transaction; returns what puts the real store back."""
    store = SqlBillingStore.stream_rated_calls  # what a pass stores with
    writes = 0

    def crashing(self: SqlBillingStore, prepared: PreparedRatedCalls) -> None:
        nonlocal writes
        writes += 1
        store(self, prepared)
        if writes == write:
            if look is not None:
                look(self)
            raise _Crash

    monkeypatch.setattr(SqlBillingStore, "stream_rated_calls", crashing)
    return lambda: monkeypatch.setattr(SqlBillingStore, "stream_rated_calls", store)


@pytest.mark.rule("RAT-1")
def test_a_pass_that_fails_midway_stores_nothing_and_the_next_rates_every_call_once(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(demo, _calls(demo, 7, 12))
    restore = _storing_fails_at(monkeypatch, 3)  # two batches stored in the pass's transaction
    with pytest.raises(_Crash):
        rate_pending(demo.platform.uow, demo.ctx, batch_size=2)
    assert _rated(demo) == []  # the pass is one transaction: nothing half-rated is left
    restore()
    again = rate_pending(demo.platform.uow, demo.ctx, batch_size=2)
    assert sum(again.stored.values()) == 7
    full = _rated(demo)
    assert len(full) == len({(cdr_id, run) for cdr_id, run, _ in full}) == 7
    assert rate_pending(demo.platform.uow, demo.ctx).stored == {}


@pytest.mark.rule("RAT-1")
def test_a_late_cdr_before_the_rated_ones_is_still_rated(demo: Demo) -> None:
    _import(demo, _calls(demo, 3, 20))
    assert sum(rate_pending(demo.platform.uow, demo.ctx, batch_size=2).stored.values()) == 3
    _import(demo, _calls(demo, 2, 5))  # recorded later, started earlier
    assert sum(rate_pending(demo.platform.uow, demo.ctx, batch_size=2).stored.values()) == 2
    assert len(_rated(demo)) == 5


@pytest.mark.rule("RAT-1")
def test_storing_the_same_cost_records_twice_stores_them_once(demo: Demo) -> None:
    _import(demo, _calls(demo, 3, 14))
    rate_pending(demo.platform.uow, demo.ctx)
    with demo.platform.uow() as uow:
        ids = [cdr_id for cdr_id, _, _ in _rated(demo)]
        calls = uow.billing.rated_calls(ids)
        # Bulk path with a conflict: on PostgreSQL the direct COPY fails and the staged insert skips.
        assert uow.billing.add_rated_calls(calls, datetime(2026, 2, 1, tzinfo=UTC)) == 0
        uow.commit()
    with demo.platform.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(bt.rated_calls)).scalar_one() == 3


@pytest.mark.rule("RAT-3")
def test_a_pack_is_drawn_in_call_order_whatever_order_the_cdrs_were_stored_in(demo: Demo) -> None:
    dupont, lemaire = demo.ids["Atelier Dupont"], demo.ids["Cabinet Lemaire"]
    with demo.platform.uow() as uow:
        pack = add_traffic_pack(uow, demo.ctx, dupont, "Two minutes", valid_from=date(2026, 1, 1), minutes=2)
        uow.commit()
    # stored latest call first, one import each, among calls of an account without a pack
    for day in (25, 18, 11, 4):
        _import(demo, [f"p{day},{dupont},2026-01-{day:02d}T09:00:00+01:00,+3222001122,90"])
        _import(demo, [f"o{day},{lemaire},2026-01-{day:02d}T09:00:00+01:00,+3222001122,90"])
    report = rate_pending(demo.platform.uow, demo.ctx, batch_size=1)
    assert report.stored["customer-retail"] == 8
    r = bt.rated_calls
    with demo.platform.engine.connect() as connection:
        drawn = dict(
            connection.execute(
                select(r.c.cdr_id, r.c.pack_seconds).where(
                    r.c.account_id == dupont, r.c.run == "customer-retail"
                )
            ).all()
        )
    keys = {day: imported_cdr_id(f"p{day}") for day in (4, 11, 18, 25)}
    # 120 s of pack: the call of the 4th takes 90 s, the 11th the last 30 s, the later ones none
    assert [drawn[keys[day]] for day in (4, 11, 18, 25)] == [90, 30, 0, 0]
    with demo.platform.uow() as uow:
        assert uow.billing.pack_balances("customer-retail", [pack.id])[pack.id].used_seconds == 120


@pytest.mark.rule("RAT-3")
def test_two_passes_at_once_rate_each_call_once_and_draw_the_pack_once(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    with demo.platform.uow() as uow:
        pack = add_traffic_pack(uow, demo.ctx, dupont, "2 min", valid_from=date(2026, 1, 1), minutes=2)
        uow.commit()
    _import(demo, _calls(demo, 40, 9))
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: rate_pending(demo.platform.uow, demo.ctx, batch_size=3), range(2)))
    assert sorted(sum(report.stored.values()) for report in reports) == [0, 40]  # the second found none
    assert len(_rated(demo)) == 40
    with demo.platform.uow() as uow:
        assert uow.billing.pack_balances(RETAIL, [pack.id])[pack.id].used_seconds == 120


def _uninvoiced_index(demo: Demo) -> list[str]:
    indexes = inspect(demo.platform.engine).get_indexes("rated_calls")
    return [index["name"] or "" for index in indexes if index["name"] == "ix_rated_calls_uninvoiced"]


@pytest.mark.rule("BIL-3")
def test_a_bulk_pass_may_set_the_uninvoiced_index_aside_but_commits_or_fails_with_it(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite drops the index while a large pass stores (PostgreSQL keeps it): whatever the pass
    does, the committed schema has the index and BIL-3 reads every call through it."""
    monkeypatch.setattr(rated_sqlite, "_BULK_ROWS", 4)
    _import(demo, _calls(demo, 9, 14))
    aside: list[bool] = []

    def look(store: SqlBillingStore) -> None:
        in_pass = inspect(store._connection).get_indexes("rated_calls")  # the pass's own view
        aside.append(not any(index["name"] == "ix_rated_calls_uninvoiced" for index in in_pass))

    restore = _storing_fails_at(monkeypatch, 4, look)  # 8 records stored: set aside on SQLite
    with pytest.raises(_Crash):
        rate_pending(demo.platform.uow, demo.ctx, batch_size=2)
    assert aside == [demo.platform.engine.dialect.name == "sqlite"]
    assert _rated(demo) == []
    assert _uninvoiced_index(demo) == ["ix_rated_calls_uninvoiced"]
    restore()
    assert rate_pending(demo.platform.uow, demo.ctx, batch_size=2).stored == {RETAIL: 9}
    assert _uninvoiced_index(demo) == ["ix_rated_calls_uninvoiced"]
    dupont = demo.ids["Atelier Dupont"]
    with demo.platform.engine.connect() as connection:
        calls = SqlBillingStore(connection).uninvoiced_calls(
            {dupont: RETAIL}, datetime(2026, 2, 1, tzinfo=UTC)
        )
    assert sorted(call.cdr_id for call in calls[dupont]) == sorted(cdr_id for cdr_id, _, _ in _rated(demo))
    assert len(calls[dupont]) == 9


@pytest.mark.rule("RAT-1")
def test_cost_records_with_tabs_newlines_and_backslashes_are_stored_as_they_are(demo: Demo) -> None:
    """PostgreSQL's COPY text format gives those characters a meaning; they are escaped."""
    _import(demo, _calls(demo, 1, 15))
    rate_pending(demo.platform.uow, demo.ctx)
    with demo.platform.uow() as uow:
        (call,) = uow.billing.rated_calls([cdr_id for cdr_id, _, _ in _rated(demo)])
        odd = [
            call._replace(cdr_id="odd\ttab", tariff_version="v\n\\1", prefix="32\r", pack_ids=("p\\1", "p2")),
            call._replace(cdr_id="plain", destination="+32\\2"),
        ]
        assert uow.billing.add_rated_calls(odd, datetime(2026, 2, 1, tzinfo=UTC)) == 2
        uow.commit()
    with demo.platform.uow() as uow:
        stored = {c.cdr_id: c for c in uow.billing.rated_calls(["odd\ttab", "plain"])}
    assert stored["odd\ttab"].tariff_version == "v\n\\1"
    assert stored["odd\ttab"].prefix == "32\r"
    assert stored["odd\ttab"].pack_ids == ("p\\1", "p2")
    assert stored["plain"].destination == "+32\\2"
    assert stored["plain"].amount == call.amount


@pytest.mark.rule("RAT-1")
@pytest.mark.rule("RAT-3")
def test_every_field_of_plain_pack_and_emergency_records_of_both_runs_is_stored_as_it_is(demo: Demo) -> None:
    """SQLite writes the values a pass or a plain call shares in the statement, not bound per row."""
    _import(demo, _calls(demo, 1, 17))
    rate_pending(demo.platform.uow, demo.ctx)
    rated_at = datetime(2026, 2, 1, 7, 30, 15, 250000, tzinfo=UTC)
    with demo.platform.uow() as uow:
        (call,) = uow.billing.rated_calls([cdr_id for cdr_id, _, _ in _rated(demo)])
        records = [
            call._replace(cdr_id="plain-w", run="partner-wholesale"),
            call._replace(
                cdr_id="pack", pack_seconds=30, charged_seconds=call.billable_seconds - 30,
                pack_ids=("pck_1", "pck_2"),
            ),
            call._replace(
                cdr_id="sos", destination="112", prefix="", tariff_version="", charged_seconds=0,
                per_minute=Decimal(0), exact_amount=Decimal(0), amount=Decimal(0), emergency=True,
                itemised=False,
            ),
            call._replace(cdr_id="plain-r"),
        ]  # fmt: skip
        assert uow.billing.add_rated_calls(records, rated_at) == 4
        uow.commit()
    with demo.platform.uow() as uow:
        stored = {(c.cdr_id, c.run): c for c in uow.billing.rated_calls([r.cdr_id for r in records])}
    assert stored == {(r.cdr_id, r.run): r for r in records}
    r = bt.rated_calls
    with demo.platform.engine.connect() as connection:
        rows = connection.execute(
            select(r.c.rated_at, r.c.invoice_id, r.c.amount_minor).where(
                r.c.cdr_id.in_([c.cdr_id for c in records])
            )
        ).all()
    assert {(at, invoice) for at, invoice, _ in rows} == {(rated_at, None)}
    assert sorted(minor for _, _, minor in rows) == sorted(int(c.amount * 100) for c in records)


@pytest.mark.rule("RAT-1")
@pytest.mark.rule("TEN-5")
def test_a_pass_writes_back_each_start_instant_exactly_whatever_its_fraction_of_a_second(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass writes back the instants it read as the database gave them (PostgreSQL prints a
    fraction without its trailing zeros); retail and wholesale records of one call (TEN-5), in
    COPY pieces smaller than a batch."""
    monkeypatch.setattr(rated_copy, "COPY_CHUNK", 2)
    dupont, lemaire = demo.ids["Atelier Dupont"], demo.ids["Cabinet Lemaire"]
    fractions = ["", ".5", ".12", ".123456", ".000001", ".100000"]
    _import(
        demo,
        [
            f"{key}{n},{account},2026-01-09T10:0{n}:07{fraction}+01:00,+3222001122,61"
            for n, fraction in enumerate(fractions)
            for key, account in (("d", dupont), ("l", lemaire))
        ],
    )
    report = rate_pending(demo.platform.uow, demo.ctx, batch_size=5)
    assert report.stored == {RETAIL: 12, "partner-wholesale": 6}
    c, r = t.cdrs, bt.rated_calls
    with demo.platform.engine.connect() as connection:
        pairs = connection.execute(
            select(c.c.started_at, r.c.started_at, r.c.run).join(r, r.c.cdr_id == c.c.id)
        ).all()
    assert len(pairs) == 18
    assert all(read == written for read, written, _ in pairs)
    assert sorted({read.microsecond for read, _, _ in pairs}) == [0, 1, 100000, 120000, 123456, 500000]


@pytest.mark.rule("RAT-1")
@pytest.mark.rule("RAT-3")
def test_on_postgresql_a_batch_is_stored_by_account_and_each_account_in_call_order(demo: Demo) -> None:
    """PostgreSQL stores each batch's cost records by account (the monthly run rewrites fewer pages);
    a stable sort: each account's calls keep their order."""
    dupont, peeters = demo.ids["Atelier Dupont"], demo.ids["Bakkerij Peeters"]
    _import(
        demo,
        [f"i{n},{(dupont, peeters)[n % 2]},2026-01-12T10:{n:02d}:00+01:00,+3222001122,61" for n in range(8)],
    )
    assert rate_pending(demo.platform.uow, demo.ctx, batch_size=4).stored[RETAIL] == 8
    if demo.platform.engine.dialect.name != "postgresql":
        return  # stored in the order read
    with demo.platform.engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT r.account_id, c.call_id FROM rated_calls r JOIN cdrs c ON c.id = r.cdr_id "
            "WHERE r.run = %s ORDER BY r.ctid",
            (RETAIL,),
        ).all()
    owner = {f"i{n}": (dupont, peeters)[n % 2] for n in range(8)}
    expected = [
        (account, call)
        for batch in (["i0", "i1", "i2", "i3"], ["i4", "i5", "i6", "i7"])  # read in storage order
        for account in sorted([dupont, peeters])
        for call in batch
        if owner[call] == account
    ]
    assert [tuple(row) for row in stored] == expected


@pytest.mark.rule("RAT-1")
def test_a_read_that_fails_midway_fails_the_pass_and_stores_nothing(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the next batch is read on a thread of its own: its failure reaches the pass."""
    _import(demo, _calls(demo, 6, 16))
    read = SqlBillingStore.pending_cdrs
    closed: list[bool] = []

    def failing(
        self: SqlBillingStore,
        batch_size: int,
        call_order: Collection[str],
        runs: Mapping[str, Collection[RatingRun]],
    ) -> Iterator[PendingBatch]:
        batches = read(self, batch_size, call_order, runs)
        try:
            yield next(batches)
            raise _Crash
        finally:
            batches.close()
            closed.append(True)

    monkeypatch.setattr(SqlBillingStore, "pending_cdrs", failing)
    with pytest.raises(_Crash):
        rate_pending(demo.platform.uow, demo.ctx, batch_size=2)
    assert closed == [True]
    assert _rated(demo) == []
    monkeypatch.setattr(SqlBillingStore, "pending_cdrs", read)
    assert rate_pending(demo.platform.uow, demo.ctx, batch_size=2).stored == {RETAIL: 6}
