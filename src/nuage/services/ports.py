"""The storage ports the use cases and the edges (API, CLI, web) need; ``nuage.storage.sql``
implements them and the composition root (``nuage.bootstrap``) hands them out: the unit of work
(with the API's access store and the call policy's store), and the API's fast read path
(:class:`KeyReader` and its two signals, :class:`Prefetch` and :class:`NeedsDatabase`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from nuage.directory.conferences import ConferenceParticipant
from nuage.directory.destinations import NumberApplication
from nuage.directory.fax import ReceivedFax
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
from nuage.tenancy.model import Order, Party

if TYPE_CHECKING:  # (the call policy's package loads the SIP stack: not for every use of a port)
    from nuage.policy.autodialer import AutoDialerBlock, Subject
    from nuage.services.access import AccessStore
    from nuage.services.call_record_ports import PlatformUnitOfWork

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
        after: Sequence[Any] | None = ...,
        **where: Any,
    ) -> list[T]: ...
    def count(self, **where: Any) -> int: ...


@dataclass(frozen=True, slots=True)
class SpendCap:
    """SIP-5: an account's daily outbound spending cap (EUR excl. VAT per Brussels day)."""

    account_id: str
    daily_spend_cap: Decimal | None
    updated_at: datetime


class PolicyStore(Protocol):
    """What the call policy keeps in storage and the operator sees and changes through the API:
    SIP-4 auto-dialer blocks, SIP-5 daily spending caps."""

    def autodialer_blocks(self) -> list[AutoDialerBlock]: ...
    def delete_autodialer_block(self, subject: Subject) -> bool: ...
    def spend_cap(self, account_id: str) -> SpendCap | None: ...
    def set_spend_cap(self, account_id: str, cap: Decimal | None, at: datetime) -> SpendCap: ...


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
    def call_recordings(self) -> Repository[CallRecording]: ...
    @property
    def web_channels(self) -> Repository[WebChannel]: ...
    @property
    def meeting_rooms(self) -> Repository[MeetingRoom]: ...
    @property
    def packs(self) -> Repository[TrafficPack]: ...
    @property
    def trunks(self) -> Repository[Trunk]: ...
    @property
    def sound_files(self) -> Repository[SoundFile]: ...
    @property
    def hold_music(self) -> Repository[HoldMusicSetting]: ...
    @property
    def carrier_trunks(self) -> Repository[CarrierTrunk]: ...
    @property
    def emergency_numbers(self) -> Repository[EmergencyNumber]: ...
    @property
    def hot_desk_sessions(self) -> Repository[HotDeskSession]: ...
    @property
    def schedules(self) -> Repository[Schedule]: ...
    @property
    def menus(self) -> Repository[Menu]: ...
    @property
    def number_applications(self) -> Repository[NumberApplication]: ...
    @property
    def conference_participants(self) -> Repository[ConferenceParticipant]: ...
    @property
    def voicemail_boxes(self) -> Repository[VoicemailBox]: ...
    @property
    def voicemail_messages(self) -> Repository[VoicemailMessage]: ...
    @property
    def forwarding(self) -> Repository[CallForwarding]: ...
    @property
    def ring_groups(self) -> Repository[RingGroup]: ...
    @property
    def received_faxes(self) -> Repository[ReceivedFax]: ...
    @property
    def access(self) -> AccessStore: ...
    @property
    def policy(self) -> PolicyStore: ...

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


class NeedsDatabase(BaseException):  # a signal, not an error: work code must not catch it
    """The work needs more than primary-key reads: run it on a real unit of work."""


class Prefetch(BaseException):  # a signal, not an error: work code must not catch it
    """The work needs this row (repository name, key) first."""

    def __init__(self, name: str, key: str) -> None:
        super().__init__(name, key)
        self.name = name
        self.key = key


class KeyReader(Protocol):
    """The API's fast read path: fetches one stored object by primary key (``name`` is the unit of
    work's repository name), and makes units of work that answer from the objects fetched."""

    async def find(self, name: str, key: str) -> Any: ...
    def prefetched(self, fetched: dict[tuple[str, str], Any]) -> PlatformUnitOfWork: ...
    async def close(self) -> None: ...
