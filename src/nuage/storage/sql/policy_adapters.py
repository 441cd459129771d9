"""The call policy's snapshot over SQL storage, reloaded in the background, and its write-behind.

Like ``SqlSipDirectory``, ``SqlPolicySnapshot`` reads what the terms-based call policy needs
(account status, capacity inputs, numbers, devices, customer trunks, SIP-5 spending caps, the
retail tariffs, SIP-4 blocks) in a worker thread every few seconds, so a call's decision never
waits on the database; a failed reload keeps the previous snapshot. It reads everything once; on
a new business day (capacities are computed for a day) only the accounts whose terms depend on the
day are computed again (``PolicySnapshot.due_on``); after that the change journal
(``ChangeFeed``) names the accounts that changed, and only their terms are computed again
(``build_snapshot`` over their rows alone), the tariffs and SIP-4 blocks only when their tables
changed.

Before each read it writes behind what the policy decided in memory since the last one: the
SIP-4 blocks found and cleared (the detector's ``journal``). Writing first, then reading, in one
thread, is what lets the policy tell a block cleared elsewhere from one not written yet
(``AutoDialerDetector.sync``). A write that fails is put back and retried at the next reload.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from nuage.errors import InvalidInput, RatingError
from nuage.policy.autodialer import JournalEntry
from nuage.policy.snapshot import PolicySnapshot, build_snapshot
from nuage.policy.spending import price_of
from nuage.rating.tariffs import TariffBook
from nuage.shared.clock import Clock, SystemClock, business_date, business_midnight
from nuage.shared.collector import release_gradually
from nuage.shared.phone import parse_e164
from nuage.storage.sql.policy_store import SqlPolicyStore
from nuage.storage.sql.snapshots import ChangeFeed, Changes, RefreshedSnapshot, built_aside
from nuage.storage.sql.unit_of_work import SqlUnitOfWork

log = logging.getLogger("nuage.storage.policy")

#: the watched tables the policy is built from: those of accounts, and those it reads whole
ACCOUNT_TABLES = ("parties", "users", "traffic_packs", "phone_numbers", "devices", "trunks", "call_limits")
WHOLE_TABLES = ("autodialer_blocks", "tariffs", "tariff_rates")
#: more changed accounts than this at once (a bulk import) and everything is read again
FULL_LOAD_ABOVE = 2_000


class SqlPolicySnapshot:
    """SnapshotSource of ``nuage.policy`` over the database, and the policy's write-behind."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        refresh_s: float = 2.0,
        home_region: str = "BE",
    ) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._region = home_region
        self.journal: deque[JournalEntry] | None = None  # SIP-4: the detector's, set by the wiring
        self._writing = threading.Lock()
        self._tariff_key: tuple[tuple[int, str, str], ...] | None = None
        self._tariffs: TariffBook | None = None
        self._changes = ChangeFeed((*ACCOUNT_TABLES, *WHOLE_TABLES))
        self._plans_key: tuple[object, ...] | None = None
        self._view = RefreshedSnapshot(self._load, PolicySnapshot(), name="call-policy", refresh_s=refresh_s)
        #: how many times everything was read, and how many changes were applied
        self.full_loads = 0
        self.applied = 0
        self.days_rolled = 0  # new days taken by computing only the accounts due (no full read)

    @property
    def snapshot(self) -> PolicySnapshot:
        """The latest snapshot loaded."""
        return self._view.value

    def _load(self) -> PolicySnapshot:
        self._write_behind()
        today = business_date(self._clock.now())
        current = self._view.value
        with SqlUnitOfWork(self._engine) as uow:
            changes = self._changes.read(uow.connection)  # before the data: nothing is missed
            plans = SqlPolicyStore(uow.connection).plans_key()  # CAP-1 readings: not in the journal
            # a new day: only the accounts whose terms depend on the day (CAP-2 packs, CAP-1
            # readings starting or ending) are computed again, with those that changed
            new_day = current.on is not None and current.on != today
            accounts = changes.accounts | current.due_on(today) if new_day else changes.accounts
            if (
                changes.everything
                or current.on is None
                or plans != self._plans_key
                or len(accounts) > FULL_LOAD_ABOVE
                or not changes.tables.isdisjoint(ACCOUNT_TABLES)  # e.g. a TRUNCATE
            ):
                try:
                    with built_aside():  # no collection walks what it makes (``snapshots``)
                        snapshot = self._read_all(uow, today)
                except BaseException:
                    self._changes.forget()  # read everything at the next tick
                    raise
                self._plans_key = plans
                self._view.read_whole()
                self.full_loads += 1
                return snapshot
            if not changes and not new_day:
                return current
            try:
                snapshot = self._apply(uow, current, replace(changes, accounts=accounts), today)
            except BaseException:
                self._changes.forget()
                raise
            self.applied += 1
            self.days_rolled += new_day
            return snapshot

    def _read_all(self, uow: SqlUnitOfWork, today: date) -> PolicySnapshot:
        store = SqlPolicyStore(uow.connection)
        parties = uow.parties.list()
        until: dict[str, date] = {}
        readings = store.capacity_readings(parties, today, until)
        users, packs, numbers, devices = (
            uow.users.list(),
            uow.packs.list(),
            uow.numbers.list(),
            uow.devices.list(),
        )
        trunks = uow.trunks.list()
        snapshot = build_snapshot(
            parties,
            users,
            packs,
            numbers,
            devices,
            today,
            trunks=trunks,
            spend_caps=store.spend_caps(),
            tariffs=self._retail_tariffs(store),
            autodialer_blocks=store.autodialer_blocks(),
            capacity_readings=readings,
            readings_until=until,
        )
        # the rows read are not kept: freed piece by piece, not in one cascade holding the GIL
        read: list[object] = [parties, users, packs, numbers, devices, trunks, readings]
        del parties, users, packs, numbers, devices, trunks, readings
        release_gradually(read)
        return snapshot

    def _apply(
        self, uow: SqlUnitOfWork, current: PolicySnapshot, changes: Changes, on: date
    ) -> PolicySnapshot:
        """``current`` with the terms of the changed accounts computed again from their rows alone,
        for the day ``on`` (the others' terms are the same on that day: ``PolicySnapshot.due_on``)."""
        store = SqlPolicyStore(uow.connection)
        accounts = dict(current.accounts)
        trunks = dict(current.trunks)
        caps = dict(current.spend_caps)
        review_on = dict(current.review_on)
        changed = sorted(changes.accounts)
        for start in range(0, len(changed), 500):
            chunk = changed[start : start + 500]
            parties = uow.parties.list(id=chunk)
            until: dict[str, date] = {}
            readings = store.capacity_readings(parties, on, until)
            part = build_snapshot(
                parties,
                uow.users.list(account_id=chunk),
                uow.packs.list(account_id=chunk),
                uow.numbers.list(account_id=chunk),
                uow.devices.list(account_id=chunk),
                on,
                trunks=uow.trunks.list(account_id=chunk),
                spend_caps=store.spend_caps(chunk),
                capacity_readings=readings,
                readings_until=until,
            )
            gone = set(chunk)
            for account in chunk:
                accounts.pop(account, None)
                caps.pop(account, None)
                review_on.pop(account, None)
            for key in [key for key, trunk in trunks.items() if trunk.account_id in gone]:
                del trunks[key]
            accounts.update(part.accounts)
            trunks.update(part.trunks)
            caps.update(part.spend_caps)
            review_on.update(part.review_on)
        tariffs = current.tariffs
        if not changes.tables.isdisjoint(("tariffs", "tariff_rates")):
            tariffs = self._retail_tariffs(store)
        blocks = current.autodialer_blocks
        if "autodialer_blocks" in changes.tables or "autodialer_blocks" in changes.account_tables:
            blocks = store.autodialer_blocks()
        return replace(
            current,
            accounts=accounts,
            on=on,
            trunks=trunks,
            spend_caps=caps,
            tariffs=tariffs,
            autodialer_blocks=blocks,
            review_on=review_on,
        )

    def _retail_tariffs(self, store: SqlPolicyStore) -> TariffBook | None:
        """RAT-2: the retail tariff book, read again only when its versions changed."""
        key = store.retail_tariff_versions()
        if key != self._tariff_key:
            versions = store.retail_tariffs()
            self._tariffs = TariffBook(versions) if versions else None
            self._tariff_key = key
        return self._tariffs

    def _write_behind(self) -> int:
        """SIP-4: store the blocks found and cleared since the last call; how many changes."""
        journal = self.journal
        if not journal:
            return 0
        with self._writing:
            entries: list[JournalEntry] = []
            while journal:
                try:
                    entries.append(journal.popleft())
                except IndexError:  # pragma: no cover - drained by nobody else, but be safe
                    break
            try:
                with SqlUnitOfWork(self._engine) as uow:
                    store = SqlPolicyStore(uow.connection)
                    for entry in entries:
                        if entry.block is not None:
                            store.save_autodialer_block(entry.block)
                        else:
                            store.delete_autodialer_block(entry.subject)
                    uow.commit()
            except Exception:
                journal.extendleft(reversed(entries))  # retried at the next reload, in order
                raise
            return len(entries)

    async def flush(self) -> None:
        """Write behind now (in a worker thread)."""
        await asyncio.to_thread(self._write_behind)

    def spend_today(self) -> tuple[date, dict[str, Decimal]]:
        """SIP-5: today's (Brussels) outbound spend per account, from its CDRs, priced as rated."""
        day = business_date(self._clock.now())
        start = business_midnight(day)
        end = business_midnight(day + timedelta(days=1))
        spent: dict[str, Decimal] = {}
        with SqlUnitOfWork(self._engine) as uow:
            store = SqlPolicyStore(uow.connection)
            tariffs = self._retail_tariffs(store)
            calls = store.outbound_calls(start, end)
        if tariffs is None:
            return day, spent
        unpriced = 0
        for call in calls:
            try:
                destination = parse_e164(call.callee, region=self._region)
            except InvalidInput:
                destination = call.callee
            try:
                price = price_of(tariffs, destination, call.started_at, call.billable_seconds)
            except RatingError:
                unpriced += 1
                continue
            spent[call.account_id] = spent.get(call.account_id, Decimal(0)) + price
        if unpriced:
            log.warning("SIP-5: %d of today's outbound calls have no tariff; not counted", unpriced)
        return day, spent

    async def load_spend_today(self) -> tuple[date, dict[str, Decimal]]:
        """``spend_today`` in a worker thread."""
        return await asyncio.to_thread(self.spend_today)

    async def reload(self) -> None:
        """Write behind, then read the database again (in a worker thread)."""
        await self._view.reload()

    async def start(self) -> None:
        """Load the first snapshot and keep it current."""
        await self._view.start()

    async def stop(self) -> None:
        """Stop refreshing, and write behind what is left."""
        await self._view.stop()
        try:
            await self.flush()
        except Exception:
            log.exception("SIP-4: blocks could not be stored at stop")
