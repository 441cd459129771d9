"""The per-call writes of ``nuage serve`` in one executemany (issue #22, ``nuage.storage.sql.bulk``),
on SQLite and PostgreSQL: a CDR and a journal row are stored exactly as a Core ``insert`` stores
them, and a journal entry is forgotten by its key alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text

from nuage.bootstrap import Platform
from nuage.sip.ports import Binding, CallOutcome, Direction
from nuage.storage.sql import journal_tables, tables
from nuage.storage.sql.bulk import bulk_insert
from nuage.storage.sql.call_journal import SqlCallJournal
from nuage.storage.sql.sip_records import SqlBindingStore, insert_cdrs
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


def _binding(device_id: str, username: str, contact: str, **changes: Any) -> Binding:
    values: dict[str, Any] = {
        "device_id": device_id,
        "username": username,
        "contact": contact,
        "expires_at": T0 + timedelta(seconds=3600),
        "call_id": f"reg-{device_id}",
        "cseq": 7,
        "source_transport": "UDP",
        "source_host": "192.0.2.10",
        "source_port": 5062,
        "registered_at": T0,
        "user_agent": "Phone/1.0",
        "q": None,
    }
    values.update(changes)
    return Binding(**values)


async def test_bindings_written_behind_are_stored_as_core_inserts_store_them(platform: Platform) -> None:
    paris = timezone(timedelta(hours=1))
    store = SqlBindingStore(platform.engine, flush_s=3600)
    written = [
        _binding("dev-a", "alice", "sip:alice@192.0.2.10:5062", q=0.5, user_agent="u" * 300),
        _binding(
            "dev-b", "bob", "sip:bob@192.0.2.11", expires_at=(T0 + timedelta(seconds=60)).astimezone(paris)
        ),
    ]
    for binding in written:
        await store.upsert(binding)
    await store.close()
    bulk = _raw(platform, "sip_bindings", "aor")
    with platform.engine.begin() as connection:
        connection.execute(text("DELETE FROM sip_bindings"))
        for binding in written:  # what each change was written as before (issue #22)
            connection.execute(
                insert(tables.sip_bindings).values(
                    aor=binding.username,
                    contact=binding.contact,
                    device_id=binding.device_id,
                    expires_at=binding.expires_at,
                    received=f"{binding.source_host}:{binding.source_port}",
                    transport=binding.source_transport,
                    call_id=binding.call_id,
                    cseq=binding.cseq,
                    user_agent=binding.user_agent[:256] or None,
                    q=Decimal(str(binding.q)) if binding.q is not None else None,
                    updated_at=binding.registered_at,
                )
            )
    assert _raw(platform, "sip_bindings", "aor") == bulk
    loaded = sorted(await SqlBindingStore(platform.engine).load_all(), key=lambda b: b.username)
    assert [replace(b, user_agent=b.user_agent[:256]) for b in written] == loaded


async def test_a_batch_of_changes_leaves_the_rows_writing_each_in_turn_leaves(platform: Platform) -> None:
    store = SqlBindingStore(platform.engine, flush_s=3600)
    await store.upsert(_binding("dev-a", "alice", "sip:alice@192.0.2.10"))
    await store.upsert(_binding("dev-c", "carol", "sip:carol@192.0.2.30"))
    await store.flush()
    await store.delete("dev-a", "sip:alice@192.0.2.10")  # gone
    await store.upsert(_binding("dev-c", "carol", "sip:carol@192.0.2.30", cseq=8))  # replaced
    await store.upsert(_binding("dev-x", "dave", "sip:dave@192.0.2.40", cseq=1))  # one username and
    await store.upsert(_binding("dev-y", "dave", "sip:dave@192.0.2.40", cseq=2))  # contact: the later
    await store.flush()
    rows = [(r["aor"], r["device_id"], r["cseq"]) for r in _raw(platform, "sip_bindings", "aor")]
    assert rows == [("carol", "dev-c", 8), ("dave", "dev-y", 2)]
