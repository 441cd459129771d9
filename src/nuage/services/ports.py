"""The storage ports the use cases need; ``nuage.storage.sql`` implements them."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

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
from nuage.tenancy.model import Order, Party

T = TypeVar("T")


class Repository(Protocol[T]):
    """Access to one kind of stored object."""

    kind: str

    def find(self, key: str) -> T | None: ...
    def get(self, key: str) -> T: ...
    def find_by(self, **where: Any) -> T | None: ...
    def add(self, obj: T) -> T: ...
    def update(self, obj: T) -> T: ...
    def remove(self, key: str) -> None: ...
    def list(
        self,
        *,
        order_by: Sequence[str] = ...,
        descending: bool = ...,
        limit: int | None = ...,
        offset: int = ...,
        **where: Any,
    ) -> list[T]: ...
    def count(self, **where: Any) -> int: ...


class UnitOfWork(Protocol):
    """One transaction: everything a use case writes is committed together or not at all."""

    @property
    def parties(self) -> Repository[Party]: ...
    @property
    def orders(self) -> Repository[Order]: ...
    @property
    def users(self) -> Repository[User]: ...
    @property
    def devices(self) -> Repository[Device]: ...
    @property
    def rooms(self) -> Repository[CommunalRoom]: ...
    @property
    def number_blocks(self) -> Repository[NumberBlock]: ...
    @property
    def numbers(self) -> Repository[PhoneNumber]: ...
    @property
    def faxes(self) -> Repository[VirtualFax]: ...
    @property
    def conference_rooms(self) -> Repository[ConferenceRoom]: ...
    @property
    def recording(self) -> Repository[RecordingSetting]: ...
    @property
    def web_channels(self) -> Repository[WebChannel]: ...
    @property
    def packs(self) -> Repository[TrafficPack]: ...
    @property
    def trunks(self) -> Repository[Trunk]: ...
    @property
    def sound_files(self) -> Repository[SoundFile]: ...
    @property
    def carrier_trunks(self) -> Repository[CarrierTrunk]: ...
    @property
    def emergency_numbers(self) -> Repository[EmergencyNumber]: ...
    @property
    def hot_desk_sessions(self) -> Repository[HotDeskSession]: ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work per use case."""

    def __call__(self) -> UnitOfWork: ...
