"""The per-call writes of ``nuage serve`` in one executemany (issue #22, ``nuage.storage.sql.bulk``),
on SQLite and PostgreSQL: a CDR and a journal row are stored exactly as a Core ``insert`` stores
them, and a journal entry is forgotten by its key alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import insert, select, text

from nuage.bootstrap import Platform
from nuage.sip.ports import CallOutcome, Direction
from nuage.storage.sql import journal_tables, tables
from nuage.storage.sql.bulk import bulk_insert
from nuage.storage.sql.call_journal import SqlCallJournal
from nuage.storage.sql.sip_records import insert_cdrs
from sip.unit.test_accounting import record as cdr_record

from .test_call_journal import T0, entry


def _raw(platform: Platform, table: str, order: str) -> list[dict[str, Any]]:
    with platform.engine.connect() as connection:
        return [
            dict(r) for r in connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings()
        ]


def test_a_cdr_is_stored_as_a_core_insert_stores_it(platform: Platform) -> None:
    paris = timezone(timedelta(hours=1))
    record = replace(
        cdr_record("bulk"),
        caller="x" * 200,  # cut at 128 like the rest
        direction=Direction.INBOUND,
        started_at=T0.astimezone(paris),
        answered_at=T0 + timedelta(microseconds=250_001),
        ended_at=T0 + timedelta(seconds=9),
        outcome=CallOutcome.ANSWERED,
        emergency=True,
        customer_trunk_id="pbx-1",
        disposition="media stopped",
        loss_percent=1.5,
        jitter_ms=None,
        mos=4.1,
    )
    with platform.engine.begin() as connection:
        insert_cdrs(connection, [record])
    (bulk,) = _raw(platform, "cdrs", "id")
    with platform.engine.begin() as connection:
        connection.execute(text("DELETE FROM cdrs"))
        core = {**bulk, "caller": record.caller[:128]}
        core.update(
            started_at=record.started_at,
            answered_at=record.answered_at,
            ended_at=record.ended_at,
            recorded_at=T0,
            emergency=True,
        )
        connection.execute(insert(tables.cdrs), [core])
    (stored,) = _raw(platform, "cdrs", "id")
    assert {k: v for k, v in bulk.items() if k != "recorded_at"} == {
        k: v for k, v in stored.items() if k != "recorded_at"
    }
    with platform.engine.connect() as connection:
        row = connection.execute(select(tables.cdrs)).mappings().one()
    assert (row["started_at"], row["trunk_id"], row["carrier_trunk_id"]) == (T0, "pbx-1", record.trunk_id)


async def test_a_journal_row_is_stored_as_a_core_insert_stores_it_and_forgotten_by_its_key(
    platform: Platform,
) -> None:
    journal = SqlCallJournal(platform.engine)
    answered = entry("j1", answered_after_s=1.5)
    await journal.write("node-bulk", [answered, entry("j2")], [], T0)
    rows = _raw(platform, "call_journal", "call_id")
    with platform.engine.begin() as connection:
        connection.execute(text("DELETE FROM call_journal"))
        bulk_insert(journal_tables.call_journal).execute(connection, [])  # nothing to insert: no statement
        connection.execute(
            insert(journal_tables.call_journal),
            [
                {**r, "started_at": T0, "answered_at": answered.answered_at if r["call_id"] == "j1" else None}
                for r in rows
            ],
        )
    assert _raw(platform, "call_journal", "call_id") == rows
    await journal.write("node-bulk", [], [("j2", "tag-j2"), ("j9", "tag-j9")], T0 + timedelta(seconds=1))
    assert await journal.load("node-bulk") == ([answered], T0 + timedelta(seconds=1))
