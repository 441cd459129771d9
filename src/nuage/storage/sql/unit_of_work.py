"""The SQL unit of work: one connection, one transaction, every repository bound to it."""

from __future__ import annotations

import dataclasses
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.exc import DBAPIError

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
from nuage.directory.schedules import (
    Schedule,
    exceptions_from_data,
    exceptions_to_data,
    hours_from_data,
    hours_to_data,
)
from nuage.directory.voicemail import VoicemailBox, VoicemailMessage
from nuage.storage.sql import (
    app_tables,
    fax_tables,
    media_tables,
    meeting_tables,
    routing_tables,
    tables,
    voicemail_tables,
)
from nuage.storage.sql.billing.store import SqlBillingStore
from nuage.storage.sql.call_records import SqlCallRecordStore
from nuage.storage.sql.errors import translated
from nuage.storage.sql.mapping import RowMapper
from nuage.storage.sql.repositories import SqlRepository
from nuage.tenancy.model import Order, OrderLine, Party

if TYPE_CHECKING:
    from nuage.storage.sql.api_store import SqlAccessStore
    from nuage.storage.sql.payments_store import SqlPaymentStore
    from nuage.storage.sql.policy_store import SqlPolicyStore
    from nuage.storage.sql.registrations import SqlRegistrationStore
    from nuage.storage.sql.security_store import SqlSecurityStore
    from nuage.storage.sql.support_store import SqlSupportStore


def _lines_to_row(lines: list[OrderLine]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(line) for line in lines]


def _lines_from_row(rows: list[dict[str, Any]]) -> list[OrderLine]:
    return [OrderLine(**row) for row in rows]


_WORDS = (lambda words: " ".join(words), lambda text: tuple((text or "").split()))  # a tuple of ids


def _members(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _mapper(cls: type[Any], table: Table, **codecs: Any) -> RowMapper[Any]:
    return RowMapper(cls, table, codecs)


MAPPERS: dict[str, tuple[RowMapper[Any], str, str]] = {
    "parties": (_mapper(Party, tables.parties), "party", "id"),
    "orders": (_mapper(Order, tables.orders, lines=(_lines_to_row, _lines_from_row)), "order", "id"),
    "users": (_mapper(User, tables.users), "user", "id"),
    "devices": (_mapper(Device, tables.devices), "device", "id"),
    "rooms": (_mapper(CommunalRoom, tables.communal_rooms), "communal room", "id"),
    "number_blocks": (_mapper(NumberBlock, tables.number_blocks), "number block", "id"),
    "numbers": (_mapper(PhoneNumber, tables.phone_numbers), "number", "id"),
    "faxes": (_mapper(VirtualFax, tables.virtual_faxes), "virtual fax", "id"),
    "conference_rooms": (_mapper(ConferenceRoom, tables.conference_rooms), "conference room", "id"),
    "recording": (
        _mapper(RecordingSetting, tables.recording_settings, user_ids=_WORDS, number_ids=_WORDS),
        "recording setting",
        "account_id",
    ),
    "call_recordings": (_mapper(CallRecording, media_tables.call_recordings), "call recording", "id"),
    "web_channels": (_mapper(WebChannel, tables.web_channels), "web channel", "id"),
    "meeting_rooms": (_mapper(MeetingRoom, meeting_tables.meeting_rooms), "meeting room", "id"),
    "packs": (_mapper(TrafficPack, tables.traffic_packs), "traffic pack", "id"),
    "trunks": (_mapper(Trunk, tables.trunks), "trunk", "id"),
    "sound_files": (_mapper(SoundFile, tables.sound_files), "sound file", "id"),
    "hold_music": (
        _mapper(HoldMusicSetting, media_tables.hold_music_settings),
        "music-on-hold setting",
        "account_id",
    ),
    "carrier_trunks": (_mapper(CarrierTrunk, tables.carrier_trunks), "carrier trunk", "id"),
    "emergency_numbers": (_mapper(EmergencyNumber, tables.emergency_numbers), "emergency number", "number"),
    "hot_desk_sessions": (
        _mapper(HotDeskSession, tables.hot_desk_sessions),
        "hot-desk session",
        "device_id",
    ),
    "schedules": (
        _mapper(
            Schedule,
            app_tables.schedules,
            hours=(hours_to_data, hours_from_data),
            exceptions=(exceptions_to_data, exceptions_from_data),
        ),
        "schedule",
        "id",
    ),
    "menus": (_mapper(Menu, app_tables.ivr_menus, options=(dict, dict)), "menu", "id"),
    "number_applications": (
        _mapper(NumberApplication, app_tables.number_applications),
        "number application",
        "number_id",
    ),
    "conference_participants": (
        _mapper(ConferenceParticipant, app_tables.conference_participants),
        "conference participant",
        "id",
    ),
    "voicemail_boxes": (
        _mapper(VoicemailBox, voicemail_tables.voicemail_boxes, members=_WORDS, greetings=_WORDS),
        "voicemail box",
        "id",
    ),
    "voicemail_messages": (
        _mapper(VoicemailMessage, voicemail_tables.voicemail_messages),
        "voicemail message",
        "id",
    ),
    "forwarding": (_mapper(CallForwarding, routing_tables.call_forwarding), "call forwarding", "user_id"),
    "ring_groups": (
        _mapper(RingGroup, routing_tables.ring_groups, members=(" ".join, _members)),
        "ring group",
        "id",
    ),
    "received_faxes": (_mapper(ReceivedFax, fax_tables.received_faxes), "received fax", "id"),
}


class SqlUnitOfWork:
    """Opens a transaction on enter; ``commit()`` keeps it, leaving without commit rolls back."""

    parties: SqlRepository[Party]
    orders: SqlRepository[Order]
    users: SqlRepository[User]
    devices: SqlRepository[Device]
    rooms: SqlRepository[CommunalRoom]
    number_blocks: SqlRepository[NumberBlock]
    numbers: SqlRepository[PhoneNumber]
    faxes: SqlRepository[VirtualFax]
    conference_rooms: SqlRepository[ConferenceRoom]
    recording: SqlRepository[RecordingSetting]
    call_recordings: SqlRepository[CallRecording]
    web_channels: SqlRepository[WebChannel]
    meeting_rooms: SqlRepository[MeetingRoom]
    packs: SqlRepository[TrafficPack]
    trunks: SqlRepository[Trunk]
    sound_files: SqlRepository[SoundFile]
    hold_music: SqlRepository[HoldMusicSetting]
    carrier_trunks: SqlRepository[CarrierTrunk]
    emergency_numbers: SqlRepository[EmergencyNumber]
    hot_desk_sessions: SqlRepository[HotDeskSession]
    schedules: SqlRepository[Schedule]
    menus: SqlRepository[Menu]
    number_applications: SqlRepository[NumberApplication]
    conference_participants: SqlRepository[ConferenceParticipant]
    voicemail_boxes: SqlRepository[VoicemailBox]
    voicemail_messages: SqlRepository[VoicemailMessage]
    forwarding: SqlRepository[CallForwarding]
    ring_groups: SqlRepository[RingGroup]
    received_faxes: SqlRepository[ReceivedFax]
    # one billing and one payments store per unit of work, made on first use (a subclass that
    # has no connection, such as the API's prefetched reads, fails there, on the connection)
    _billing: SqlBillingStore | None = None
    _payments: SqlPaymentStore | None = None

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The open connection (for adapters that need more than the repositories)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    def __enter__(self) -> Self:
        self._open()
        connection = self.connection
        for name, (mapper, kind, key) in MAPPERS.items():
            setattr(self, name, SqlRepository(connection, mapper, kind, key))
        return self

    def _open(self) -> None:
        """Connect and begin; a database that cannot be reached is ``UpstreamUnavailable``."""
        try:
            self._connection = self._engine.connect()
            self._connection.begin()
        except DBAPIError as error:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            found = translated(error)
            if found is None:
                raise
            raise found from error

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection = self.connection
        try:
            if connection.in_transaction():
                connection.rollback()
        except DBAPIError:
            if exc is None:
                raise
        finally:
            connection.close()
            self._connection = None
            self._billing = None
            self._payments = None
        if isinstance(exc, DBAPIError):  # the database's refusal, as an error of the tree
            error = translated(exc)
            if error is not None:
                raise error from exc

    @property
    def billing(self) -> SqlBillingStore:
        """Billing storage (RAT, CNT, BIL, CTR) in this unit of work's transaction (one per unit of work)."""
        if self._billing is None:
            self._billing = SqlBillingStore(self.connection)
        return self._billing

    @property
    def call_records(self) -> SqlCallRecordStore:
        """SIP-1: the call records and their prices, in this unit of work's transaction."""
        return SqlCallRecordStore(self.connection)

    @property
    def payments(self) -> SqlPaymentStore:
        """Payments storage (BIL-4 documents, PAY-1..2) in this unit of work's transaction (one per unit
        of work)."""
        if self._payments is None:
            from nuage.storage.sql.payments_store import SqlPaymentStore

            self._payments = SqlPaymentStore(self.connection)
        return self._payments

    @property
    def registrations(self) -> SqlRegistrationStore:
        """CNT-4: the live SIP registrations, as the declaration audit reads them."""
        from nuage.storage.sql.registrations import SqlRegistrationStore

        return SqlRegistrationStore(self.connection)

    @property
    def support(self) -> SqlSupportStore:
        """Support records (SUP-1, BIL-5, HW-1, BIL-7, BIL-8) in this unit of work's transaction."""
        from nuage.storage.sql.support_store import SqlSupportStore

        return SqlSupportStore(self.connection)

    @property
    def access(self) -> SqlAccessStore:
        """API clients and limits (API-1, API-2) in this unit of work's transaction."""
        from nuage.storage.sql.api_store import SqlAccessStore

        return SqlAccessStore(self.connection)

    @property
    def security(self) -> SqlSecurityStore:
        """Second factors, password resets and the audit log in this unit of work's transaction."""
        from nuage.storage.sql.security_store import SqlSecurityStore

        return SqlSecurityStore(self.connection)

    @property
    def policy(self) -> SqlPolicyStore:
        """The call policy's stored state (SIP-4 blocks, SIP-5 caps) in this unit of work's transaction."""
        from nuage.storage.sql.policy_store import SqlPolicyStore

        return SqlPolicyStore(self.connection)

    def commit(self) -> None:
        """Keep what the use case wrote."""
        self.connection.commit()

    def rollback(self) -> None:
        """Forget what the use case wrote."""
        self.connection.rollback()


class SqlUnitOfWorkFactory:
    """Makes units of work over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)
