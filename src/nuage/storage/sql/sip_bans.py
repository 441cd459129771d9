"""SIP-5: the SIP edge's bans in the database (the ``BanStore`` port): they outlive a restart, and
SIP nodes on one database (PostgreSQL) share them. The SIP server writes them behind
(``nuage.sip.bans``); the API and the CLI list and lift them here."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from nuage.sip.ports import BanRecord
from nuage.storage.sql import tables

MAX_LOADED = 100_000  # bans read at once: a spoofed flood of distinct addresses stays bounded


class SqlBanStore:
    """Bans in ``sip_bans``; each call one short transaction on a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def active(self, now: datetime) -> list[BanRecord]:
        """The bans in force at ``now``, the longest remaining first."""
        return await asyncio.to_thread(self._active, now)

    def _active(self, now: datetime) -> list[BanRecord]:
        table = tables.sip_bans
        query = select(table).where(table.c.until > now).order_by(table.c.until.desc()).limit(MAX_LOADED)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [BanRecord(r["address"], r["since"], r["until"], r["reason"]) for r in rows]

    async def add(self, bans: Sequence[BanRecord]) -> None:
        """Store bans, replacing those of the same addresses; expired ones are forgotten."""
        if bans:
            await asyncio.to_thread(self._add, list(bans))

    def _add(self, bans: list[BanRecord]) -> None:
        table = tables.sip_bans
        latest = {ban.address: ban for ban in bans}
        addresses = list(latest)
        with self._engine.begin() as connection:
            connection.execute(delete(table).where(table.c.until <= min(b.since for b in bans)))
            for start in range(0, len(addresses), 500):  # bound the statement's parameters
                chunk = addresses[start : start + 500]
                connection.execute(delete(table).where(table.c.address.in_(chunk)))
            connection.execute(
                insert(table),
                [
                    {"address": b.address, "since": b.since, "until": b.until, "reason": b.reason[:256]}
                    for b in latest.values()
                ],
            )

    async def lift(self, address: str, now: datetime) -> bool:
        """Remove the ban of ``address``; whether one was in force at ``now``."""
        return await asyncio.to_thread(self._lift, address, now)

    def _lift(self, address: str, now: datetime) -> bool:
        table = tables.sip_bans
        with self._engine.begin() as connection:
            found = connection.execute(
                select(table.c.until).where(table.c.address == address)
            ).scalar_one_or_none()
            connection.execute(delete(table).where(table.c.address == address))
        return found is not None and found > now
