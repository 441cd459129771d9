"""The in-memory unit of work: one transaction over a ``MemoryStore``, committed whole or not at all.

Entering takes a private copy of the store's objects; ``commit()`` publishes it; leaving without
commit forgets it, as the SQL unit of work rolls back. Units of work of one factory share one store,
so a test writes in one and reads in the next exactly as it would against a database.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from nuage.directory.model import (
    CarrierTrunk,
    CommunalRoom,
    ConferenceRoom,
    Device,
    EmergencyNumber,
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
from nuage.storage.memory.repositories import MemoryRepository
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
    "web_channels": ("web channel", "id"),
    "packs": ("traffic pack", "id"),
    "trunks": ("trunk", "id"),
    "sound_files": ("sound file", "id"),
    "carrier_trunks": ("carrier trunk", "id"),
    "emergency_numbers": ("emergency number", "number"),
    "hot_desk_sessions": ("hot-desk session", "device_id"),
}


class MemoryStore:
    """Every stored object, by repository name and key; shared by the units of work of a factory."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {name: {} for name in KINDS}
        self.lock = threading.Lock()


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
    web_channels: MemoryRepository[WebChannel]
    packs: MemoryRepository[TrafficPack]
    trunks: MemoryRepository[Trunk]
    sound_files: MemoryRepository[SoundFile]
    carrier_trunks: MemoryRepository[CarrierTrunk]
    emergency_numbers: MemoryRepository[EmergencyNumber]
    hot_desk_sessions: MemoryRepository[HotDeskSession]

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._working: dict[str, dict[str, Any]] | None = None

    def _begin(self) -> None:
        with self._store.lock:
            # the stored objects are never handed out (repositories copy in and out), so a
            # shallow copy of each table is a private snapshot
            self._working = {name: dict(rows) for name, rows in self._store.rows.items()}
        for name, (kind, key) in KINDS.items():
            setattr(self, name, MemoryRepository(self._working[name], kind, key))

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

    def commit(self) -> None:
        """Publish what the use case wrote; the unit of work goes on in a fresh transaction."""
        if self._working is None:
            raise RuntimeError("the unit of work is not open")
        with self._store.lock:
            self._store.rows = self._working
        self._begin()

    def rollback(self) -> None:
        """Forget what the use case wrote since the last commit."""
        if self._working is None:
            raise RuntimeError("the unit of work is not open")
        self._begin()


class MemoryUnitOfWorkFactory:
    """Makes units of work over one in-memory store."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)
