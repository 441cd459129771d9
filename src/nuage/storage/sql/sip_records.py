"""The SIP data plane's records over SQL storage: registrations written behind (batched), CDRs in batches.

The crash journal of calls in progress is ``nuage.storage.sql.call_journal``'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, select

from nuage.shared.ids import new_ordered_id
from nuage.sip.ports import Binding, CdrRecord
from nuage.storage.sql import tables
from nuage.storage.sql.bulk import bulk_delete, bulk_insert

log = logging.getLogger("nuage.storage.sip")


class SqlBindingStore:
    """Registrations persisted write-behind: upserts and deletes are batched every ``flush_s``."""

    def __init__(self, engine: Engine, *, flush_s: float = 0.2) -> None:
        self._engine = engine
        self._flush_s = flush_s
        self._pending: dict[tuple[str, str], Binding | None] = {}
        self._flusher: asyncio.Task[None] | None = None

    def _read_all(self) -> list[Binding]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(tables.sip_bindings)).mappings().all()
        bindings = []
        for row in rows:
            host, _, port = (row["received"] or ":0").rpartition(":")
            bindings.append(
                Binding(
                    device_id=row["device_id"] or "",
                    username=row["aor"],
                    contact=row["contact"],
                    expires_at=row["expires_at"],
                    call_id=row["call_id"],
                    cseq=row["cseq"],
                    source_transport=row["transport"],
                    source_host=host.strip("[]"),
                    source_port=int(port or 0),
                    registered_at=row["updated_at"],
                    user_agent=row["user_agent"] or "",
                    q=float(row["q"]) if row["q"] is not None else None,
                )
            )
        return bindings

    async def load_all(self) -> list[Binding]:
        """Every stored binding."""
        return await asyncio.to_thread(self._read_all)

    async def upsert(self, binding: Binding) -> None:
        """Queue the binding for the next batch."""
        self._pending[(binding.device_id, binding.contact)] = binding
        self._schedule()

    async def delete(self, device_id: str, contact: str) -> None:
        """Queue the removal for the next batch."""
        self._pending[(device_id, contact)] = None
        self._schedule()

    def _schedule(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later(), name="sip-bindings-flush")

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_s)
        await self.flush()

    async def flush(self) -> None:
        """Write what is queued, in one transaction."""
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            await asyncio.to_thread(self._write, batch)
        except Exception:
            log.exception("could not store %d registration changes; retrying", len(batch))
            for key, value in batch.items():
                self._pending.setdefault(key, value)
            self._schedule()

    def _write(self, batch: dict[tuple[str, str], Binding | None]) -> None:
        """One transaction, one executemany per statement (issue #22): the rows of the batch's
        devices and contacts go, then the rows of the stored bindings' usernames and contacts,
        then the bindings go in. The same rows as writing each change in turn: of two bindings of
        one username and contact (two devices) the later one is kept."""
        kept: dict[tuple[str, str], Binding] = {}
        for binding in batch.values():
            if binding is not None:
                kept.pop((binding.username, binding.contact), None)  # the later one, in batch order
                kept[(binding.username, binding.contact)] = binding
        with self._engine.begin() as connection:
            _DELETE_BY_DEVICE.execute(connection, batch.keys())
            _DELETE_BY_AOR.execute(connection, kept.keys())
            _INSERT_BINDING.execute(connection, [_row(binding) for binding in kept.values()])

    async def close(self) -> None:
        """Write what is left."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        await self.flush()


_DELETE_BY_DEVICE = bulk_delete(
    tables.sip_bindings, tables.sip_bindings.c.device_id, tables.sip_bindings.c.contact
)
_DELETE_BY_AOR = bulk_delete(tables.sip_bindings, tables.sip_bindings.c.aor, tables.sip_bindings.c.contact)
_INSERT_BINDING = bulk_insert(tables.sip_bindings)


def _row(binding: Binding) -> tuple[object, ...]:
    """A binding's row of ``sip_bindings``, in the table's column order."""
    return (
        binding.username,  # aor
        binding.contact,
        binding.device_id,
        binding.expires_at,
        f"{binding.source_host}:{binding.source_port}",  # received
        binding.source_transport,
        binding.call_id,
        binding.cseq,
        binding.user_agent[:256] or None,
        Decimal(str(binding.q)) if binding.q is not None else None,
        None,  # instance_id
        binding.registered_at,  # updated_at
    )


class SqlCdrSink:
    """SIP-1: stores the batches of CDRs the writer hands over, one transaction per batch."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def write(self, records: Sequence[CdrRecord]) -> None:
        """Insert a batch of CDRs."""
        if records:
            await asyncio.to_thread(self._insert, list(records))

    def _insert(self, records: list[CdrRecord]) -> None:
        with self._engine.begin() as connection:
            insert_cdrs(connection, records)


_CDRS = bulk_insert(tables.cdrs)


def insert_cdrs(connection: Connection, records: Sequence[CdrRecord]) -> None:
    """Insert the ``cdrs`` rows of ``records`` (a new id each, recorded now): one executemany."""
    now = datetime.now(UTC)
    _CDRS.execute(
        connection,
        [  # in the order of the table's columns
            (
                new_ordered_id("cdr"),
                r.call_id,
                r.account_id,
                r.direction.value,
                r.caller[:128],
                r.callee[:128],
                r.device_id,
                None,  # user_id
                r.customer_trunk_id,  # trunk_id
                r.trunk_id,  # carrier_trunk_id
                r.started_at,
                r.answered_at,
                r.ended_at,
                r.billable_seconds,
                r.outcome.value,
                r.sip_status,
                r.refusal_rule_id,
                r.emergency,
                "sip",  # source
                now,  # recorded_at
                r.disposition,
                r.loss_percent,
                r.jitter_ms,
                r.mos,
            )
            for r in records
        ],
    )
