"""Directory items of a customer account (CFG-1..13). Every item carries its ``account_id``.

The exceptions are the operator's own: carrier trunks and emergency numbers (EMG-4); a hot-desk
session (CFG-13) belongs to the account of its shared phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network

from nuage.directory.recording import RecordingDirection, RecordingScope


class Role(StrEnum):
    """CFG-1: the roles a user may hold."""

    USER = "user"
    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"


class DeviceKind(StrEnum):
    """CFG-3: the kinds of device; some need no user."""

    DESK_PHONE = "desk_phone"
    SOFTPHONE_MOBILE = "softphone_mobile"
    SOFTPHONE_PC = "softphone_pc"
    DOOR_PHONE = "door_phone"
    FAX = "fax"
    EMERGENCY_PHONE = "emergency_phone"
    PAGER = "pager"
    BUZZER = "buzzer"
    FLASHER = "flasher"


#: CFG-3: devices that need no user (a door phone is not a person).
USER_FREE_KINDS = frozenset(
    {
        DeviceKind.DOOR_PHONE,
        DeviceKind.FAX,
        DeviceKind.EMERGENCY_PHONE,
        DeviceKind.PAGER,
        DeviceKind.BUZZER,
        DeviceKind.FLASHER,
    }
)

#: EMG-3: devices that move with their owner and cannot be located reliably.
NOMADIC_KINDS = frozenset({DeviceKind.SOFTPHONE_MOBILE, DeviceKind.SOFTPHONE_PC})


class LinePurpose(StrEnum):
    """What a line is declared for; CFG-5 refuses alarm and lift lines."""

    TELEPHONY = "telephony"
    ALARM = "alarm"
    LIFT = "lift"


class RoomUse(StrEnum):
    """CFG-4: who uses a communal room."""

    NON_USERS = "non_users"  # workshop, staff room, counter, kitchen, stock, lab: 1 phone = 1 user
    USERS = "users"  # meeting room, cafeteria: used by people already users, counts 0


class NumberScope(StrEnum):
    """CFG-6: national or international (BIL-11: international taken for 12 months)."""

    NATIONAL = "national"
    INTERNATIONAL = "international"


class TrunkAuth(StrEnum):
    """SIP-3: how a customer's PBX connects."""

    REGISTRATION = "registration"
    IP = "ip"


@dataclass
class User:
    """CFG-1: one individual who uses telephony, whatever the number of devices."""

    id: str
    account_id: str
    name: str
    created_at: datetime
    role: Role = Role.USER
    no_service: bool = False  # CFG-2: role rights, no telephony, no device, not invoiced
    email: str | None = None
    extension: str | None = None
    language: str | None = None
    emergency_number_id: str | None = None  # EMG-2: caller ID presented to emergency services
    communal_room_id: str | None = None  # CFG-4: a user declared for a phone of a communal room
    password_hash: str | None = None  # portal login (argon2)
    token_generation: int = 0  # portal tokens carry it; a password change moves it on (ends them)
    hot_desk_pin_hash: str | None = None  # CFG-13

    @property
    def billable(self) -> bool:
        """CFG-2: a no-service user is not invoiced and adds no channels."""
        return not self.no_service

    @property
    def has_hot_desk_pin(self) -> bool:
        """CFG-13: whether the user can log in on shared phones (the PIN itself is never shown)."""
        return self.hot_desk_pin_hash is not None


@dataclass
class Device:
    """CFG-3: a device, linked to a user or not; SIP credentials for those that register."""

    id: str
    account_id: str
    kind: DeviceKind
    label: str
    created_at: datetime
    user_id: str | None = None
    room_id: str | None = None
    sip_username: str | None = None
    sip_password: str | None = None
    purpose: LinePurpose = LinePurpose.TELEPHONY
    hot_desk: bool = False  # CFG-13: a shared phone users can log in on
    site: str | None = None  # where it stands, for EMG-2
    emergency_number_id: str | None = None
    mac_address: str | None = None

    @property
    def nomadic(self) -> bool:
        """EMG-3: softphones move with their owner."""
        return self.kind in NOMADIC_KINDS

    @property
    def needs_user(self) -> bool:
        """CFG-3: whether this kind of device is used by a person who must be a user."""
        return self.kind not in USER_FREE_KINDS


@dataclass
class CommunalRoom:
    """CFG-4: a room with shared phones."""

    id: str
    account_id: str
    name: str
    use: RoomUse
    created_at: datetime


@dataclass
class NumberBlock:
    """CFG-6, EMG-1: a block of numbers and the postal address of the premises it serves."""

    id: str
    account_id: str
    first_e164: str
    size: int
    created_at: datetime
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    address_updated_on: date | None = None

    @property
    def has_address(self) -> bool:
        """EMG-1: street, postal code, city and country are all known."""
        return all((self.street, self.postal_code, self.city, self.country))

    @property
    def address_text(self) -> str:
        """The address on one line, for people and emergency services."""
        parts = [self.street, f"{self.postal_code or ''} {self.city or ''}".strip(), self.country]
        return ", ".join(p for p in parts if p)


@dataclass
class PhoneNumber:
    """CFG-6: an E.164 number of the account, optionally in a block, assigned to one target."""

    id: str
    account_id: str
    e164: str
    scope: NumberScope
    created_at: datetime
    block_id: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    trunk_id: str | None = None
    main: bool = False  # the account's main number (presented when the operator policy replaces)
    activated_on: date | None = None
    ring_group_id: str | None = None  # issue #15: the number rings a ring group


@dataclass
class VirtualFax:
    """CFG-7: each number that leads to a virtual fax counts as one."""

    id: str
    account_id: str
    number_id: str
    email: str
    created_at: datetime


@dataclass
class ConferenceRoom:
    """CFG-8: each room created counts as one. Callers reach it by its extension or a number routed
    to it (``NumberApplication``); PINs are kept as argon2 hashes only, the moderator's apart."""

    id: str
    account_id: str
    name: str
    created_at: datetime
    pin_hash: str | None = None
    moderator_pin_hash: str | None = None
    extension: str | None = None

    @property
    def has_pin(self) -> bool:
        """Whether callers must key a PIN to join (the PIN itself is never shown)."""
        return self.pin_hash is not None

    @property
    def has_moderator_pin(self) -> bool:
        """Whether the room has a moderator PIN (its holder may mute and kick by the API's rules)."""
        return self.moderator_pin_hash is not None


@dataclass
class RecordingSetting:
    """CFG-9: call recording, switched on by an administrator who acknowledged the legal duties."""

    account_id: str
    enabled: bool = False
    acknowledged_by_user_id: str | None = None
    acknowledged_at: datetime | None = None
    stored_bytes: int = 0
    recordings: int = 0
    scope: RecordingScope = RecordingScope.ALL  # whose calls (CFG-9 selection)
    direction: RecordingDirection = RecordingDirection.BOTH
    user_ids: tuple[str, ...] = ()  # the selected users (scope ``users``)
    number_ids: tuple[str, ...] = ()  # the selected numbers (scope ``numbers``)
    retention_days: int | None = None  # None: kept until deleted


@dataclass
class CallRecording:
    """CFG-9: one recorded call, both directions in a stereo FLAC; its bytes count in the account's
    recording volume (``RecordingSetting.stored_bytes``) until it is deleted."""

    id: str
    account_id: str
    call_id: str
    size_bytes: int
    duration_ms: int
    created_at: datetime


@dataclass
class WebChannel:
    """CFG-10: a click-to-call widget; billed by the channels the operator configured."""

    id: str
    account_id: str
    name: str
    channels: int
    created_at: datetime
    allowed_origin: str | None = None
    target_number_id: str | None = None


@dataclass
class TrafficPack:
    """CFG-11: a bundle of call minutes or amount; may fix the channel limit (CAP-2)."""

    id: str
    account_id: str
    name: str
    quantity: int
    created_at: datetime
    valid_from: date
    minutes: int | None = None
    amount: Decimal | None = None
    channel_limit: int | None = None
    valid_until: date | None = None

    def active_on(self, day: date) -> bool:
        """Whether the pack is in force on ``day``."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class TrunkAddress:
    """SIP-3: one entry of an IP trunk's ``allowed_ips``: an address or CIDR block (any source
    port), or ``ip:port`` / ``[v6]:port`` for one exact source (the form to use when phones share
    the PBX's address: the port tells them apart)."""

    network: IPv4Network | IPv6Network
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> TrunkAddress:
        """Read one entry; ValueError when it is not an address, a block or an address:port."""
        item = text.strip()
        host, port = item, None
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else None
            if rest and port is None:
                raise ValueError(item)
        elif item.count(":") == 1:
            host, port = item.split(":", 1)
        network = ip_network(host, strict=False)
        if port is None:
            return cls(network)
        if not (port.isdigit() and 0 < int(port) < 65536 and network.num_addresses == 1):
            raise ValueError(item)
        return cls(network, int(port))

    def __str__(self) -> str:
        if self.port is None:
            return str(self.network)
        host = str(self.network.network_address)
        return f"[{host}]:{self.port}" if self.network.version == 6 else f"{host}:{self.port}"


@dataclass
class Trunk:
    """SIP-3: a customer PBX connected by registration or by IP."""

    id: str
    account_id: str
    name: str
    auth: TrunkAuth
    created_at: datetime
    purpose: LinePurpose = LinePurpose.TELEPHONY
    sip_username: str | None = None
    sip_password: str | None = None
    allowed_ips: str | None = None  # comma-separated addresses or CIDR blocks
    emergency_number_id: str | None = None  # EMG-2: the trunk's configured emergency number
    channel_limit: int | None = None  # SIP-3: the channels subscribed (terms.capacity)
    site: str | None = None  # EMG-2: the address the customer declares for the PBX's phones


@dataclass
class SoundFile:
    """CFG-12: music on hold or a prompt; the uploader acknowledged copyright responsibility."""

    id: str
    account_id: str
    name: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by_user_id: str | None
    copyright_acknowledged_at: datetime
    created_at: datetime
    duration_ms: int | None = None  # the converted audio's length (None: uploaded before audio was kept)


@dataclass
class HoldMusicSetting:
    """Issue #15: the account's music on hold, one of its sound files (CFG-12); without one a held
    party hears the platform's default."""

    account_id: str
    sound_file_id: str | None = None


@dataclass
class CarrierTrunk:
    """The operator's gateway to the public network (outbound and inbound calls, SIP-1)."""

    id: str
    name: str
    host: str
    port: int
    created_at: datetime
    transport: str = "udp"
    enabled: bool = True


@dataclass
class EmergencyNumber:
    """EMG-4: an urgent short number the operator adds to 112, 100 and 101 (e.g. 1733, 116000)."""

    number: str
    label: str
    created_at: datetime | None  # None: built in (112, 100, 101), never added


@dataclass
class HotDeskSession:
    """CFG-13: a user logged in on a shared phone, which acts as the user's device until logout."""

    device_id: str
    user_id: str
    started_at: datetime
    expires_at: datetime

    def active_at(self, now: datetime) -> bool:
        """CFG-13: a session past its timeout is over, as if the user had logged out."""
        return now < self.expires_at
