"""Rating storage paths (RAT-1..3): keyset pages, bulk writes, idempotency across crashes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from nuage.services import billing as b
from nuage.services.billing_ports import BillingUnitOfWork
from nuage.storage.sql import billing_tables as bt

from .billing_flow import Demo


class _Crash(Exception):
    pass


def _import(demo: Demo, rows: list[str]) -> None:
    with demo.platform.uow() as uow:
        report = b.import_cdrs(
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


@pytest.mark.rule("RAT-1")
def test_a_crash_between_batches_keeps_what_was_committed_and_rates_the_rest_once(demo: Demo) -> None:
    _import(demo, _calls(demo, 7, 12))
    commits = 0

    @contextmanager
    def crashing() -> Iterator[BillingUnitOfWork]:
        nonlocal commits
        with demo.platform.uow() as uow:
            yield uow
            commits += 1
            if commits == 4:  # statistics, then two committed batches, then a crash before the third
                raise _Crash

    with pytest.raises(_Crash):
        b.rate_pending(crashing, demo.ctx, batch_size=2)  # type: ignore[arg-type]
    partial = _rated(demo)
    assert 0 < len(partial) < 7
    again = b.rate_pending(demo.platform.uow, demo.ctx, batch_size=2)
    assert sum(again.stored.values()) == 7 - len(partial)
    full = _rated(demo)
    assert len(full) == len({(cdr_id, run) for cdr_id, run, _ in full}) == 7
    assert [row for row in full if row in partial] == partial  # nothing committed was rated again
    assert b.rate_pending(demo.platform.uow, demo.ctx).stored == {}


@pytest.mark.rule("RAT-1")
def test_a_late_cdr_before_the_rated_ones_is_still_rated(demo: Demo) -> None:
    _import(demo, _calls(demo, 3, 20))
    assert sum(b.rate_pending(demo.platform.uow, demo.ctx, batch_size=2).stored.values()) == 3
    _import(demo, _calls(demo, 2, 5))  # recorded later, started earlier
    assert sum(b.rate_pending(demo.platform.uow, demo.ctx, batch_size=2).stored.values()) == 2
    assert len(_rated(demo)) == 5


@pytest.mark.rule("RAT-1")
def test_storing_the_same_cost_records_twice_stores_them_once(demo: Demo) -> None:
    _import(demo, _calls(demo, 3, 14))
    b.rate_pending(demo.platform.uow, demo.ctx)
    with demo.platform.uow() as uow:
        ids = [cdr_id for cdr_id, _, _ in _rated(demo)]
        calls = uow.billing.rated_calls(ids)
        # Bulk path with a conflict: on PostgreSQL the direct COPY fails and the staged insert skips.
        assert uow.billing.add_rated_calls(calls, datetime(2026, 2, 1, tzinfo=UTC)) == 0
        uow.commit()
    with demo.platform.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(bt.rated_calls)).scalar_one() == 3
