"""The SIP nodes' crash journal over SQL: calls in progress and each node's last sign of life.

The ``CallJournalStore`` port of ``nuage.sip.journal``: every write is one transaction in a
worker thread (the event loop never waits on the database); closing a node's lost calls inserts
their CDRs, except those of calls whose CDR is stored already (same Call-ID and start), and
forgets the node's entries in the same transaction, so a crash during recovery repeats it whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update

from nuage.sip.ports import CdrRecord, Direction, JournalEntry
from nuage.storage.sql import journal_tables, tables
from nuage.storage.sql.bulk import bulk_delete, bulk_insert
from nuage.storage.sql.sip_records import insert_cdrs

_JOURNAL = journal_tables.call_journal
_INSERT = bulk_insert(_JOURNAL)
_DELETE = bulk_delete(_JOURNAL, _JOURNAL.c.node, _JOURNAL.c.call_id, _JOURNAL.c.caller_tag)


class SqlCallJournal:
    """A node's calls in progress in ``call_journal``, its last sign of life in ``call_journal_nodes``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def write(
        self,
        node: str,
        entries: Sequence[JournalEntry],
        removed: Sequence[tuple[str, str]],
        seen_at: datetime,
    ) -> None:
        """Store ``entries``, forget ``removed``, record ``seen_at``: one transaction."""
        await asyncio.to_thread(self._write, node, list(entries), list(removed), seen_at)

    def _write(
        self, node: str, entries: list[JournalEntry], removed: list[tuple[str, str]], seen_at: datetime
    ) -> None:
        keys = [*removed, *((e.call_id, e.caller_tag) for e in entries)]
        with self._engine.begin() as connection:
            _DELETE.execute(connection, [(node, call_id, tag) for call_id, tag in keys])
            _INSERT.execute(connection, [_row(node, entry) for entry in entries])
            _seen(connection, node, seen_at)

    async def load(self, node: str) -> tuple[list[JournalEntry], datetime | None]:
        """The entries a previous life of ``node`` left, and its last sign of life."""
        return await asyncio.to_thread(self._load, node)

    def _load(self, node: str) -> tuple[list[JournalEntry], datetime | None]:
        journal, nodes = journal_tables.call_journal, journal_tables.call_journal_nodes
        with self._engine.connect() as connection:
            rows = connection.execute(select(journal).where(journal.c.node == node)).mappings().all()
            seen_at = connection.execute(select(nodes.c.seen_at).where(nodes.c.node == node)).scalar()
        return [_entry(row) for row in rows], seen_at

    async def close(self, node: str, records: Sequence[CdrRecord]) -> None:
        """Insert the CDRs of the calls that have none yet and forget the node's entries: one transaction."""
        await asyncio.to_thread(self._close, node, list(records))

    def _close(self, node: str, records: list[CdrRecord]) -> None:
        cdrs, journal = tables.cdrs, journal_tables.call_journal
        with self._engine.begin() as connection:
            missing = [
                record
                for record in records
                if connection.execute(
                    select(cdrs.c.id)
                    .where(and_(cdrs.c.call_id == record.call_id, cdrs.c.started_at == record.started_at))
                    .limit(1)
                ).first()
                is None
            ]
            if missing:
                insert_cdrs(connection, missing)
            connection.execute(delete(journal).where(journal.c.node == node))
            connection.execute(
                delete(journal_tables.call_journal_nodes).where(
                    journal_tables.call_journal_nodes.c.node == node
                )
            )


def _seen(connection: Connection, node: str, seen_at: datetime) -> None:
    nodes = journal_tables.call_journal_nodes
    if not connection.execute(update(nodes).where(nodes.c.node == node).values(seen_at=seen_at)).rowcount:
        connection.execute(insert(nodes).values(node=node, seen_at=seen_at))


def _row(node: str, entry: JournalEntry) -> tuple[Any, ...]:
    return (  # in the order of the table's columns
        node,
        entry.call_id,
        entry.caller_tag,
        entry.callee_call_id,
        entry.callee_tag,
        entry.started_at,
        entry.answered_at,
        entry.caller[:128],
        entry.callee[:128],
        entry.account_id,
        entry.device_id,
        entry.trunk_id,  # carrier_trunk_id
        entry.customer_trunk_id,  # trunk_id
        entry.direction.value,
        entry.emergency,
    )


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        call_id=row["call_id"],
        caller_tag=row["caller_tag"],
        callee_call_id=row["callee_call_id"],
        callee_tag=row["callee_tag"],
        started_at=row["started_at"],
        answered_at=row["answered_at"],
        caller=row["caller"],
        callee=row["callee"],
        account_id=row["account_id"],
        device_id=row["device_id"],
        trunk_id=row["carrier_trunk_id"],
        customer_trunk_id=row["trunk_id"],
        direction=Direction(row["direction"]),
        emergency=bool(row["emergency"]),
    )
