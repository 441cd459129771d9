"""The in-memory unit of work: one transaction over a ``MemoryStore``, committed whole or not at all.

Entering takes a private copy of the store's objects; ``commit()`` publishes what this unit of work
changed in it (row by row, over what others committed meanwhile); leaving without commit forgets
it, as the SQL unit of work rolls back. Units of work of one factory share one store, so a test
writes in one and reads in the next exactly as it would against a database. ``billing`` and
``payments`` (``storage.memory.billing``, ``storage.memory.payments``) keep their tables in the
same copy, so they commit or roll back with the rest; a job's lock (``billing.lock``) is held
until the transaction ends, and taking it brings in what others committed before.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from nuage.directory.conferences import ConferenceParticipant
from nuage.directory.destinations import NumberApplication
from nuage.directory.meetings import MeetingRoom
from nuage.directory.menus import Menu
from nuage.directory.model import (
    CallRecording,
    CarrierTrunk,
    CommunalRoom,
    ConferenceRoom,
    Device,
    EmergencyNumber,
    HoldMusicSetting,
    HotDeskSession,
    NumberBlock,
    PhoneNumber,
    RecordingSetting,
    SoundFile,
    TrafficPack,
    Trunk,
    User,
    VirtualFax,
    WebChannel,
)
from nuage.directory.routing import CallForwarding, RingGroup
from nuage.directory.schedules import Schedule
from nuage.directory.voicemail import VoicemailBox, VoicemailMessage
from nuage.storage.memory.billing import BILLING_TABLES, MemoryBillingStore
from nuage.storage.memory.payments import PAYMENT_TABLES, MemoryPaymentStore
from nuage.storage.memory.repositories import MemoryRepository
from nuage.storage.memory.tables import SEQUENCES
from nuage.tenancy.model import Order, Party

#: repository name -> (what an error calls the kind, the key field); the SQL unit of work's list
KINDS: dict[str, tuple[str, str]] = {
    "parties": ("party", "id"),
    "orders": ("order", "id"),
    "users": ("user", "id"),
    "devices": ("device", "id"),
    "rooms": ("communal room", "id"),
    "number_blocks": ("number block", "id"),
    "numbers": ("number", "id"),
    "faxes": ("virtual fax", "id"),
    "conference_rooms": ("conference room", "id"),
    "recording": ("recording setting", "account_id"),
    "call_recordings": ("call recording", "id"),
    "web_channels": ("web channel", "id"),
    "meeting_rooms": ("meeting room", "id"),
    "packs": ("traffic pack", "id"),
    "trunks": ("trunk", "id"),
    "sound_files": ("sound file", "id"),
    "hold_music": ("music-on-hold setting", "account_id"),
    "carrier_trunks": ("carrier trunk", "id"),
    "emergency_numbers": ("emergency number", "number"),
    "hot_desk_sessions": ("hot-desk session", "device_id"),
    "schedules": ("schedule", "id"),
    "menus": ("menu", "id"),
    "number_applications": ("number application", "number_id"),
    "conference_participants": ("conference participant", "id"),
    "voicemail_boxes": ("voicemail box", "id"),
    "voicemail_messages": ("voicemail message", "id"),
    "forwarding": ("call forwarding", "user_id"),
    "ring_groups": ("ring group", "id"),
}


_GONE = object()  # a row removed by the unit of work


class MemoryStore:
    """Every stored object, by table name and key; shared by the units of work of a factory.

    The stored objects are never changed in place (repositories and stores copy or replace
    them), so a shallow copy of each table is a private snapshot.
    """

    def __init__(self) -> None:
        names = (*KINDS, *BILLING_TABLES, *PAYMENT_TABLES, SEQUENCES)
        self.rows: dict[str, dict[Any, Any]] = {name: {} for name in names}
        self.lock = threading.Lock()
        self._job_locks: dict[str, threading.Lock] = {}

    def job_lock(self, job: str) -> threading.Lock:
        """The lock that serialises ``job`` over the units of work of this store."""
        with self.lock:
            return self._job_locks.setdefault(job, threading.Lock())


class MemoryRegistrations:
    """CNT-4: no stored SIP bindings in memory: nothing registers from more phones than declared."""

    def registered_phones(self, usernames: Collection[str], at: datetime) -> dict[str, int]:
        return {}


class MemoryUnitOfWork:
    """A transaction over a private copy of the store: ``commit()`` keeps it, leaving forgets it."""

    parties: MemoryRepository[Party]
    orders: MemoryRepository[Order]
    users: MemoryRepository[User]
    devices: MemoryRepository[Device]
    rooms: MemoryRepository[CommunalRoom]
    number_blocks: MemoryRepository[NumberBlock]
    numbers: MemoryRepository[PhoneNumber]
    faxes: MemoryRepository[VirtualFax]
    conference_rooms: MemoryRepository[ConferenceRoom]
    recording: MemoryRepository[RecordingSetting]
    call_recordings: MemoryRepository[CallRecording]
    web_channels: MemoryRepository[WebChannel]
    meeting_rooms: MemoryRepository[MeetingRoom]
    packs: MemoryRepository[TrafficPack]
    trunks: MemoryRepository[Trunk]
    sound_files: MemoryRepository[SoundFile]
    hold_music: MemoryRepository[HoldMusicSetting]
    carrier_trunks: MemoryRepository[CarrierTrunk]
    emergency_numbers: MemoryRepository[EmergencyNumber]
    hot_desk_sessions: MemoryRepository[HotDeskSession]
    schedules: MemoryRepository[Schedule]
    menus: MemoryRepository[Menu]
    number_applications: MemoryRepository[NumberApplication]
    conference_participants: MemoryRepository[ConferenceParticipant]
    voicemail_boxes: MemoryRepository[VoicemailBox]
    voicemail_messages: MemoryRepository[VoicemailMessage]
    forwarding: MemoryRepository[CallForwarding]
    ring_groups: MemoryRepository[RingGroup]

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._base: dict[str, dict[Any, Any]] = {}
        self._working: dict[str, dict[Any, Any]] | None = None
        self._held: list[threading.Lock] = []
        self._billing: MemoryBillingStore | None = None
        self._payments: MemoryPaymentStore | None = None

    def _take(self, rows: dict[str, dict[Any, Any]]) -> None:
        """Make the private copy ``rows``; an open unit of work refills its tables in place, so the
        repositories handed out before stay bound to it (as SQL ones stay bound to the connection)."""
        self._base = rows
        if self._working is None:
            self._working = {name: dict(table) for name, table in rows.items()}
            for name, (kind, key) in KINDS.items():
                setattr(self, name, MemoryRepository(self._working[name], kind, key))
            return
        for name, table in rows.items():
            mine = self._working[name]
            mine.clear()
            mine.update(table)

    def _begin(self) -> None:
        with self._store.lock:
            self._take(self._store.rows)

    def _rebased(self, current: dict[str, dict[Any, Any]]) -> dict[str, dict[Any, Any]]:
        """``current`` with what this unit of work changed since it took its copy, row by row."""
        working = self.table_rows()
        found: dict[str, dict[Any, Any]] = {}
        for name, table in current.items():
            base, mine = self._base[name], working[name]
            changes = {key: value for key, value in mine.items() if base.get(key, _GONE) is not value}
            changes.update((key, _GONE) for key in base.keys() - mine.keys())
            if not changes:
                found[name] = table
                continue
            merged = dict(table)
            for key, value in changes.items():
                if value is _GONE:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            found[name] = merged
        return found

    def _release(self) -> None:
        while self._held:
            self._held.pop().release()

    def table_rows(self) -> dict[str, dict[Any, Any]]:
        """The private copy of every table (for the billing and payments stores)."""
        if self._working is None:
            raise RuntimeError("the unit of work is not open")
        return self._working

    def hold(self, job: str) -> None:
        """Take ``job``'s lock until the transaction ends, then see what others committed before."""
        lock = self._store.job_lock(job)
        if lock in self._held:
            return
        lock.acquire()
        self._held.append(lock)
        with self._store.lock:
            current = self._store.rows
            rebased = self._rebased(current)
        self._take(rebased)
        self._base = current  # what this unit of work changes is counted from what it now sees

    def __enter__(self) -> Self:
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._working = None
        self._billing = None
        self._payments = None
        self._release()

    @property
    def billing(self) -> MemoryBillingStore:
        """Billing storage (RAT, CNT, BIL, CTR) in this unit of work's transaction (one per unit of work)."""
        self.table_rows()
        if self._billing is None:
            self._billing = MemoryBillingStore(self)
        return self._billing

    @property
    def payments(self) -> MemoryPaymentStore:
        """Payments storage (BIL-4 documents, PAY-1..2) in this unit of work's transaction."""
        self.table_rows()
        if self._payments is None:
            self._payments = MemoryPaymentStore(self)
        return self._payments

    @property
    def registrations(self) -> MemoryRegistrations:
        """CNT-4: the SIP registrations; the in-memory platform keeps none (its SIP plane has its own)."""
        return MemoryRegistrations()

    def commit(self) -> None:
        """Publish what the use case wrote; the unit of work goes on in a fresh transaction."""
        self.table_rows()
        with self._store.lock:
            self._store.rows = self._rebased(self._store.rows)
            self._take(self._store.rows)
        self._release()

    def rollback(self) -> None:
        """Forget what the use case wrote since the last commit."""
        self.table_rows()
        self._begin()
        self._release()


class MemoryUnitOfWorkFactory:
    """Makes units of work over one in-memory store."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)
