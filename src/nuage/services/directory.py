"""Directory use cases (CFG-1..13): each one transaction, scoped by the caller's tenant (TEN-4)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from nuage.directory.model import (
    CarrierTrunk,
    CommunalRoom,
    ConferenceRoom,
    Device,
    DeviceKind,
    LinePurpose,
    NumberBlock,
    NumberScope,
    PhoneNumber,
    RecordingSetting,
    Role,
    RoomUse,
    SoundFile,
    TrafficPack,
    Trunk,
    TrunkAddress,
    TrunkAuth,
    User,
    VirtualFax,
    WebChannel,
)
from nuage.directory.rules import (
    check_copyright_acknowledgment,
    check_device_owner,
    check_no_service_change,
    check_positive,
    check_recording_acknowledgment,
    check_sip_password,
    generate_sip_password,
    refuse_alarm_and_lift_lines,
)
from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.services.context import Context
from nuage.services.hot_desk import end_sessions
from nuage.services.ports import Repository, UnitOfWork
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id
from nuage.shared.phone import is_national, parse_e164
from nuage.terms.emergency import EMERGENCY_NUMBERS


class _AccountItem(Protocol):
    @property
    def account_id(self) -> str: ...


T = TypeVar("T", bound=_AccountItem)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SIP_USER = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
_EXTENSION = re.compile(r"^[0-9]{2,8}$")


def _name(value: str, field: str = "name") -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > 200:
        raise InvalidInput(field, f"{field} must have 1 to 200 characters")
    return cleaned


def _email(value: str | None, field: str = "email") -> str | None:
    if value is None:
        return None
    if not _EMAIL.match(value) or len(value) > 320:
        raise InvalidInput(field, f"Not an e-mail address: {value!r}")
    return value.lower()


def _owned(repo: Repository[T], ctx: Context, key: str, account_id: str | None = None) -> T:
    """TEN-4: an item of an account the caller may see, else NotFound."""
    item = repo.find(key)
    if item is None:
        raise NotFound(repo.kind, key)
    owner = item.account_id
    if not ctx.scope.can_see(owner) or (account_id is not None and owner != account_id):
        raise NotFound(repo.kind, key)
    return item


def _only(fields: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(sorted(unknown)[0], f"Unknown field {sorted(unknown)[0]!r}")
    return dict(fields)


def _check_extension(uow: UnitOfWork, extension: str) -> None:
    """EMG-4: no extension shadows an emergency number, built in or added by the operator."""
    if not _EXTENSION.match(extension):
        raise InvalidInput("extension", "An extension is 2 to 8 digits")
    if extension in EMERGENCY_NUMBERS or uow.emergency_numbers.find(extension) is not None:
        raise TermViolation(
            "EMG-4",
            f"{extension} is an emergency number: dialling it must reach the emergency services",
            field="extension",
        )


# --- users (CFG-1, CFG-2) -----------------------------------------------------------------------


def add_user(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    *,
    role: Role = Role.USER,
    no_service: bool = False,
    email: str | None = None,
    extension: str | None = None,
    language: str | None = None,
    communal_room_id: str | None = None,
) -> User:
    """CFG-1: declare a user; CFG-2: administrators and supervisors may be no-service."""
    get_customer(uow, ctx, account_id)
    role = Role(role)
    if no_service and role is Role.USER:
        raise InvalidInput(
            "no_service", "Only administrators and supervisors can have the no-service option (CFG-2)"
        )
    if extension is not None:
        _check_extension(uow, extension)
        if uow.users.find_by(account_id=account_id, extension=extension):
            raise Conflict(f"Extension {extension} is taken", field="extension")
    email = _email(email)
    if email and uow.users.find_by(email=email):
        raise Conflict(f"E-mail {email} is already used by a user", field="email")
    if communal_room_id is not None:
        _owned(uow.rooms, ctx, communal_room_id, account_id)
    user = User(
        id=new_id("usr"),
        account_id=account_id,
        name=_name(name),
        created_at=ctx.clock.now(),
        role=role,
        no_service=no_service,
        email=email,
        extension=extension,
        language=language,
        communal_room_id=communal_room_id,
    )
    uow.users.add(user)
    return user


def update_user(uow: UnitOfWork, ctx: Context, user_id: str, **fields: Any) -> User:
    """Change a user; CFG-2: switching to no-service requires owning no device."""
    user = _owned(uow.users, ctx, user_id)
    changes = _only(
        fields, {"name", "role", "no_service", "email", "extension", "language", "emergency_number_id"}
    )
    if "name" in changes:
        changes["name"] = _name(changes["name"])
    if "role" in changes:
        changes["role"] = Role(changes["role"])
    if "email" in changes:
        changes["email"] = _email(changes["email"])
        other = uow.users.find_by(email=changes["email"]) if changes["email"] else None
        if other is not None and other.id != user.id:
            raise Conflict("E-mail already used by a user", field="email")
    if changes.get("extension") is not None:
        _check_extension(uow, changes["extension"])
        other = uow.users.find_by(account_id=user.account_id, extension=changes["extension"])
        if other is not None and other.id != user.id:
            raise Conflict(f"Extension {changes['extension']} is taken", field="extension")
    if changes.get("emergency_number_id") is not None:
        _owned(uow.numbers, ctx, changes["emergency_number_id"], user.account_id)
    updated = replace(user, **changes)
    if updated.no_service and updated.role is Role.USER:
        raise InvalidInput(
            "no_service", "Only administrators and supervisors can have the no-service option (CFG-2)"
        )
    check_no_service_change(updated, uow.devices.count(user_id=user.id))
    if updated.no_service:
        end_sessions(uow, user_id=user.id)  # CFG-2: no telephony, so no hot-desk login either
    uow.users.update(updated)
    return updated


def remove_user(uow: UnitOfWork, ctx: Context, user_id: str) -> None:
    """Remove a user; their devices stay, unlinked, and numbers are unassigned (a CNT-4 audit shows them)."""
    user = _owned(uow.users, ctx, user_id)
    for device in uow.devices.list(user_id=user.id):
        uow.devices.update(replace(device, user_id=None))
    for number in uow.numbers.list(user_id=user.id):
        uow.numbers.update(replace(number, user_id=None))
    end_sessions(uow, user_id=user.id)  # CFG-13: logged out of any shared phone
    uow.users.remove(user.id)


# --- devices (CFG-3, CFG-5, CFG-13, SIP-5) ---------------------------------------------------------


def add_device(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    kind: DeviceKind,
    label: str,
    *,
    user_id: str | None = None,
    room_id: str | None = None,
    purpose: LinePurpose = LinePurpose.TELEPHONY,
    hot_desk: bool = False,
    sip_username: str | None = None,
    sip_password: str | None = None,
    site: str | None = None,
    mac_address: str | None = None,
) -> Device:
    """CFG-3: declare a device; CFG-5 refuses alarm and lift lines; SIP-5 strong credentials."""
    get_customer(uow, ctx, account_id)
    refuse_alarm_and_lift_lines(LinePurpose(purpose), "device")
    owner = _owned(uow.users, ctx, user_id, account_id) if user_id else None
    if room_id is not None:
        _owned(uow.rooms, ctx, room_id, account_id)
    if sip_username is None:
        sip_username = new_id("sip").replace("_", "-")
    if not _SIP_USER.match(sip_username):
        raise InvalidInput(
            "sip_username", "SIP usernames are 3-64 letters, digits, dots, dashes or underscores"
        )
    if uow.devices.find_by(sip_username=sip_username) or uow.trunks.find_by(sip_username=sip_username):
        raise Conflict(f"SIP username {sip_username} is taken", field="sip_username")
    if sip_password is None:
        sip_password = generate_sip_password()
    else:
        check_sip_password(sip_password)
    device = Device(
        id=new_id("dev"),
        account_id=account_id,
        kind=DeviceKind(kind),
        label=_name(label, "label"),
        created_at=ctx.clock.now(),
        user_id=user_id,
        room_id=room_id,
        sip_username=sip_username,
        sip_password=sip_password,
        purpose=LinePurpose(purpose),
        hot_desk=hot_desk,
        site=site,
        mac_address=mac_address,
    )
    check_device_owner(device, owner)
    uow.devices.add(device)
    return device


def update_device(uow: UnitOfWork, ctx: Context, device_id: str, **fields: Any) -> Device:
    """Change a device: relink it, move it to a room, rename it; CFG-2/CFG-5 still hold."""
    device = _owned(uow.devices, ctx, device_id)
    allowed = {
        "label",
        "user_id",
        "room_id",
        "hot_desk",
        "site",
        "emergency_number_id",
        "purpose",
        "sip_password",
    }
    changes = _only(fields, allowed)
    if "label" in changes:
        changes["label"] = _name(changes["label"], "label")
    if "purpose" in changes:
        changes["purpose"] = LinePurpose(changes["purpose"])
        refuse_alarm_and_lift_lines(changes["purpose"], "device")
    if changes.get("sip_password") is not None:
        check_sip_password(changes["sip_password"])
    if changes.get("room_id") is not None:
        _owned(uow.rooms, ctx, changes["room_id"], device.account_id)
    if changes.get("emergency_number_id") is not None:
        _owned(uow.numbers, ctx, changes["emergency_number_id"], device.account_id)
    updated = replace(device, **changes)
    owner = _owned(uow.users, ctx, updated.user_id, device.account_id) if updated.user_id else None
    check_device_owner(updated, owner)
    if not updated.hot_desk:
        end_sessions(uow, device_id=device.id)  # CFG-13: no longer shared, so nobody is logged in
    uow.devices.update(updated)
    return updated


def remove_device(uow: UnitOfWork, ctx: Context, device_id: str) -> None:
    """Remove a device; numbers assigned to it are unassigned."""
    device = _owned(uow.devices, ctx, device_id)
    for number in uow.numbers.list(device_id=device.id):
        uow.numbers.update(replace(number, device_id=None))
    end_sessions(uow, device_id=device.id)  # CFG-13
    uow.devices.remove(device.id)


# --- communal rooms (CFG-4) ---------------------------------------------------------------------------


def add_room(uow: UnitOfWork, ctx: Context, account_id: str, name: str, use: RoomUse) -> CommunalRoom:
    """CFG-4: a communal room; the kind of use decides whether its phones count as users."""
    get_customer(uow, ctx, account_id)
    room = CommunalRoom(new_id("room"), account_id, _name(name), RoomUse(use), ctx.clock.now())
    uow.rooms.add(room)
    return room


# --- numbers and blocks (CFG-6, EMG-1) --------------------------------------------------------------


def add_number_block(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    first_e164: str,
    size: int,
    *,
    street: str | None = None,
    postal_code: str | None = None,
    city: str | None = None,
    country: str | None = None,
) -> NumberBlock:
    """CFG-6: a block of consecutive numbers; EMG-1: with the postal address of the premises."""
    get_customer(uow, ctx, account_id)
    first = parse_e164(first_e164, field="first_e164")
    check_positive("size", size)
    if size > 10000:
        raise InvalidInput("size", "A block holds at most 10000 numbers")
    for other in uow.number_blocks.list(account_id=account_id):
        if _overlap(first, size, other.first_e164, other.size):
            raise Conflict(f"The block overlaps block {other.id}", field="first_e164")
    block = NumberBlock(
        id=new_id("blk"),
        account_id=account_id,
        first_e164=first,
        size=size,
        created_at=ctx.clock.now(),
        street=street,
        postal_code=postal_code,
        city=city,
        country=country.upper() if country else None,
        address_updated_on=ctx.clock.now().date() if street else None,
    )
    uow.number_blocks.add(block)
    return block


def _overlap(first_a: str, size_a: int, first_b: str, size_b: int) -> bool:
    if len(first_a) != len(first_b):
        return False
    a, b = int(first_a[1:]), int(first_b[1:])
    return a < b + size_b and b < a + size_a


def in_block(e164: str, block: NumberBlock) -> bool:
    """Whether a number falls inside a block's range."""
    if len(e164) != len(block.first_e164):
        return False
    start = int(block.first_e164[1:])
    return start <= int(e164[1:]) < start + block.size


def update_number_block_address(
    uow: UnitOfWork, ctx: Context, block_id: str, *, street: str, postal_code: str, city: str, country: str
) -> NumberBlock:
    """EMG-1: keep the block's postal address up to date."""
    block = _owned(uow.number_blocks, ctx, block_id)
    for field, value in (
        ("street", street),
        ("postal_code", postal_code),
        ("city", city),
        ("country", country),
    ):
        if not value.strip():
            raise InvalidInput(field, f"{field} is required for an emergency address (EMG-1)")
    updated = replace(
        block,
        street=street.strip(),
        postal_code=postal_code.strip(),
        city=city.strip(),
        country=country.strip().upper(),
        address_updated_on=ctx.clock.now().date(),
    )
    uow.number_blocks.update(updated)
    return updated


def add_number(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    e164: str,
    *,
    block_id: str | None = None,
    main: bool = False,
    home_region: str = "BE",
) -> PhoneNumber:
    """CFG-6: a number of the account, national or international by its country, in a block or not."""
    get_customer(uow, ctx, account_id)
    number_text = parse_e164(e164)
    if uow.numbers.find_by(e164=number_text):
        raise Conflict(f"{number_text} is already in service", field="e164")
    if block_id is not None:
        block = _owned(uow.number_blocks, ctx, block_id, account_id)
        if not in_block(number_text, block):
            raise InvalidInput("e164", f"{number_text} is outside the block starting at {block.first_e164}")
    else:
        block_id = next(
            (b.id for b in uow.number_blocks.list(account_id=account_id) if in_block(number_text, b)), None
        )
    if main:
        for other in uow.numbers.list(account_id=account_id, main=True):
            uow.numbers.update(replace(other, main=False))
    number = PhoneNumber(
        id=new_id("num"),
        account_id=account_id,
        e164=number_text,
        scope=NumberScope.NATIONAL
        if is_national(number_text, home_region=home_region)
        else NumberScope.INTERNATIONAL,
        created_at=ctx.clock.now(),
        block_id=block_id,
        main=main,
        activated_on=ctx.clock.now().date(),
    )
    uow.numbers.add(number)
    return number


def assign_number(
    uow: UnitOfWork,
    ctx: Context,
    number_id: str,
    *,
    user_id: str | None = None,
    device_id: str | None = None,
    trunk_id: str | None = None,
) -> PhoneNumber:
    """CFG-6: route a number to one user, device or trunk of the same account (or to none)."""
    number = _owned(uow.numbers, ctx, number_id)
    targets = [t for t in (user_id, device_id, trunk_id) if t is not None]
    if len(targets) > 1:
        raise InvalidInput("user_id", "A number is assigned to one user, device or trunk at a time")
    if uow.faxes.find_by(number_id=number.id) and targets:
        raise Conflict("The number leads to a virtual fax", field="number_id")
    if user_id:
        user = _owned(uow.users, ctx, user_id, number.account_id)
        if user.no_service:
            raise InvalidInput("user_id", "A no-service user has no telephony (CFG-2)")
    if device_id:
        _owned(uow.devices, ctx, device_id, number.account_id)
    if trunk_id:
        _owned(uow.trunks, ctx, trunk_id, number.account_id)
    updated = replace(number, user_id=user_id, device_id=device_id, trunk_id=trunk_id)
    uow.numbers.update(updated)
    return updated


def remove_number(uow: UnitOfWork, ctx: Context, number_id: str) -> None:
    """Take a number out of service (BIL-11's 12 months are billing's concern, not refused here)."""
    number = _owned(uow.numbers, ctx, number_id)
    if uow.faxes.find_by(number_id=number.id):
        raise Conflict("Remove the virtual fax on this number first", field="number_id")
    uow.numbers.remove(number.id)


# --- virtual fax (CFG-7), conference rooms (CFG-8) ------------------------------------------------


def add_virtual_fax(uow: UnitOfWork, ctx: Context, account_id: str, number_id: str, email: str) -> VirtualFax:
    """CFG-7: a virtual incoming fax, bound to one number of the account."""
    get_customer(uow, ctx, account_id)
    number = _owned(uow.numbers, ctx, number_id, account_id)
    if uow.faxes.find_by(number_id=number.id):
        raise Conflict(f"{number.e164} already leads to a virtual fax", field="number_id")
    if number.user_id or number.device_id or number.trunk_id:
        raise Conflict(f"{number.e164} is assigned; unassign it first", field="number_id")
    fax = VirtualFax(new_id("fax"), account_id, number.id, _email(email) or "", ctx.clock.now())
    uow.faxes.add(fax)
    return fax


def add_conference_room(
    uow: UnitOfWork, ctx: Context, account_id: str, name: str, pin: str | None = None
) -> ConferenceRoom:
    """CFG-8: each conference room created counts as one."""
    get_customer(uow, ctx, account_id)
    if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise InvalidInput("pin", "A conference PIN is 4 to 12 digits")
    room = ConferenceRoom(new_id("conf"), account_id, _name(name), ctx.clock.now(), pin)
    uow.conference_rooms.add(room)
    return room


# --- recording (CFG-9), web channels (CFG-10), packs (CFG-11) ----------------------------------------


def get_recording(uow: UnitOfWork, ctx: Context, account_id: str) -> RecordingSetting:
    """CFG-9: the account's recording setting (off until an administrator switches it on)."""
    get_customer(uow, ctx, account_id)
    return uow.recording.find(account_id) or RecordingSetting(account_id=account_id)


def set_recording(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    *,
    enabled: bool,
    administrator_id: str | None,
    acknowledged: bool,
) -> RecordingSetting:
    """CFG-9: an administrator switches recording on, acknowledging the legal duties."""
    current = get_recording(uow, ctx, account_id)
    admin = _owned(uow.users, ctx, administrator_id, account_id) if administrator_id else None
    check_recording_acknowledgment(enabled, admin, acknowledged)
    updated = replace(
        current,
        enabled=enabled,
        acknowledged_by_user_id=admin.id if (enabled and admin) else current.acknowledged_by_user_id,
        acknowledged_at=ctx.clock.now() if enabled else current.acknowledged_at,
    )
    if uow.recording.find(account_id) is None:
        uow.recording.add(updated)
    else:
        uow.recording.update(updated)
    return updated


def add_web_channel(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    channels: int,
    *,
    allowed_origin: str | None = None,
    target_number_id: str | None = None,
) -> WebChannel:
    """CFG-10: a click-to-call widget; the operator configures its channels (billed per channel)."""
    get_customer(uow, ctx, account_id)
    if not ctx.scope.is_operator:
        raise InvalidInput("channels", "The operator configures click-to-call channels (CFG-10)")
    check_positive("channels", channels)
    if target_number_id is not None:
        _owned(uow.numbers, ctx, target_number_id, account_id)
    channel = WebChannel(
        new_id("web"), account_id, _name(name), channels, ctx.clock.now(), allowed_origin, target_number_id
    )
    uow.web_channels.add(channel)
    return channel


def add_traffic_pack(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    *,
    quantity: int = 1,
    valid_from: date,
    minutes: int | None = None,
    amount: Decimal | None = None,
    channel_limit: int | None = None,
    valid_until: date | None = None,
) -> TrafficPack:
    """CFG-11: a pack of minutes or amount bought by count; CAP-2: it may fix the channel limit."""
    get_customer(uow, ctx, account_id)
    check_positive("quantity", quantity)
    if minutes is None and amount is None:
        raise InvalidInput("minutes", "A pack holds minutes or an amount")
    if minutes is not None:
        check_positive("minutes", minutes)
    if amount is not None and amount <= 0:
        raise InvalidInput("amount", "A pack's amount is positive")
    if channel_limit is not None:
        check_positive("channel_limit", channel_limit)
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput("valid_until", "A pack ends on or after its start")
    pack = TrafficPack(
        id=new_id("pack"),
        account_id=account_id,
        name=_name(name),
        quantity=quantity,
        created_at=ctx.clock.now(),
        valid_from=valid_from,
        minutes=minutes,
        amount=amount,
        channel_limit=channel_limit,
        valid_until=valid_until,
    )
    uow.packs.add(pack)
    return pack


# --- trunks (SIP-3, CFG-5) and sound files (CFG-12) ------------------------------------------------------


def _check_ips(text: str) -> str:
    """SIP-3: a PBX's addresses (``TrunkAddress``), comma-separated, in their canonical form."""
    cleaned = []
    for part in text.split(","):
        try:
            cleaned.append(str(TrunkAddress.parse(part)))
        except ValueError as exc:
            raise InvalidInput(
                "allowed_ips", f"Not an IP address, network or address:port: {part.strip()!r}"
            ) from exc
    if not cleaned:
        raise InvalidInput("allowed_ips", "IP authentication needs at least one address")
    return ",".join(cleaned)


def add_trunk(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    auth: TrunkAuth,
    *,
    purpose: LinePurpose = LinePurpose.TELEPHONY,
    sip_username: str | None = None,
    sip_password: str | None = None,
    allowed_ips: str | None = None,
    channel_limit: int | None = None,
) -> Trunk:
    """SIP-3: a customer PBX by registration (credentials) or by IP; CFG-5 refuses alarm/lift trunks."""
    get_customer(uow, ctx, account_id)
    refuse_alarm_and_lift_lines(LinePurpose(purpose), "trunk")
    auth = TrunkAuth(auth)
    if auth is TrunkAuth.REGISTRATION:
        sip_username = sip_username or new_id("trk").replace("_", "-")
        if not _SIP_USER.match(sip_username):
            raise InvalidInput(
                "sip_username", "SIP usernames are 3-64 letters, digits, dots, dashes or underscores"
            )
        if uow.devices.find_by(sip_username=sip_username) or uow.trunks.find_by(sip_username=sip_username):
            raise Conflict(f"SIP username {sip_username} is taken", field="sip_username")
        if sip_password is None:
            sip_password = generate_sip_password()
        else:
            check_sip_password(sip_password)
        allowed_ips = None
    else:
        if allowed_ips is None:
            raise InvalidInput("allowed_ips", "IP authentication needs the PBX's addresses")
        allowed_ips = _check_ips(allowed_ips)
        sip_username = sip_password = None
    if channel_limit is not None:
        check_positive("channel_limit", channel_limit)
    trunk = Trunk(
        id=new_id("trk"),
        account_id=account_id,
        name=_name(name),
        auth=auth,
        created_at=ctx.clock.now(),
        purpose=LinePurpose(purpose),
        sip_username=sip_username,
        sip_password=sip_password,
        allowed_ips=allowed_ips,
        channel_limit=channel_limit,
    )
    uow.trunks.add(trunk)
    return trunk


_SOUND_TYPES = {"audio/wav", "audio/x-wav", "audio/mpeg", "audio/ogg", "audio/basic"}
MAX_SOUND_BYTES = 20 * 1024 * 1024


def add_sound_file(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    content_type: str,
    content: bytes,
    *,
    uploaded_by_user_id: str | None,
    copyright_acknowledged: bool,
) -> SoundFile:
    """CFG-12: a sound file, accepted only with the uploader's copyright acknowledgment."""
    get_customer(uow, ctx, account_id)
    check_copyright_acknowledgment(copyright_acknowledged)
    if content_type not in _SOUND_TYPES:
        raise InvalidInput("content_type", f"Sound files are WAV, MP3, Ogg or µ-law, not {content_type!r}")
    if not content or len(content) > MAX_SOUND_BYTES:
        raise InvalidInput("content", f"A sound file has 1 byte to {MAX_SOUND_BYTES} bytes")
    if uploaded_by_user_id is not None:
        _owned(uow.users, ctx, uploaded_by_user_id, account_id)
    now = ctx.clock.now()
    sound = SoundFile(
        id=new_id("snd"),
        account_id=account_id,
        name=_name(name),
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by_user_id=uploaded_by_user_id,
        copyright_acknowledged_at=now,
        created_at=now,
    )
    uow.sound_files.add(sound)
    return sound


# --- the operator's carrier trunks (SIP-1) ------------------------------------------------------------


def add_carrier_trunk(uow: UnitOfWork, ctx: Context, name: str, host: str, port: int = 5060) -> CarrierTrunk:
    """SIP-1: the operator's gateway to the public network for outbound and inbound calls."""
    if not ctx.scope.is_operator:
        raise NotFound("carrier trunk", "-")
    if not host.strip():
        raise InvalidInput("host", "The carrier gateway's host is required")
    if not 1 <= port <= 65535:
        raise InvalidInput("port", "port must be 1..65535")
    trunk = CarrierTrunk(new_id("car"), _name(name), host.strip(), port, ctx.clock.now())
    uow.carrier_trunks.add(trunk)
    return trunk


# --- updates and removals the API needs (API-1: everything the portal can do) ----------------------------


def update_room(uow: UnitOfWork, ctx: Context, room_id: str, **fields: Any) -> CommunalRoom:
    """CFG-4: rename a communal room or change who uses it (which decides whether its phones count)."""
    room = _owned(uow.rooms, ctx, room_id)
    changes = _only(fields, {"name", "use"})
    if "name" in changes:
        changes["name"] = _name(changes["name"])
    if "use" in changes:
        changes["use"] = RoomUse(changes["use"])
    updated = replace(room, **changes)
    uow.rooms.update(updated)
    return updated


def remove_room(uow: UnitOfWork, ctx: Context, room_id: str) -> None:
    """CFG-4: remove a communal room; its phones and users stay, no longer in the room."""
    room = _owned(uow.rooms, ctx, room_id)
    for device in uow.devices.list(room_id=room.id):
        uow.devices.update(replace(device, room_id=None))
    for user in uow.users.list(communal_room_id=room.id):
        uow.users.update(replace(user, communal_room_id=None))
    uow.rooms.remove(room.id)


def remove_number_block(uow: UnitOfWork, ctx: Context, block_id: str) -> None:
    """CFG-6: remove an empty number block (EMG-1: numbers in it need its address)."""
    block = _owned(uow.number_blocks, ctx, block_id)
    if uow.numbers.count(block_id=block.id):
        raise Conflict("Remove the numbers of this block first", field="block_id")
    uow.number_blocks.remove(block.id)


def remove_virtual_fax(uow: UnitOfWork, ctx: Context, fax_id: str) -> None:
    """CFG-7: remove a virtual fax; its number stays in service."""
    fax = _owned(uow.faxes, ctx, fax_id)
    uow.faxes.remove(fax.id)


def update_conference_room(uow: UnitOfWork, ctx: Context, room_id: str, **fields: Any) -> ConferenceRoom:
    """CFG-8: rename a conference room or change its PIN."""
    room = _owned(uow.conference_rooms, ctx, room_id)
    changes = _only(fields, {"name", "pin"})
    if "name" in changes:
        changes["name"] = _name(changes["name"])
    pin = changes.get("pin")
    if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise InvalidInput("pin", "A conference PIN is 4 to 12 digits")
    updated = replace(room, **changes)
    uow.conference_rooms.update(updated)
    return updated


def remove_conference_room(uow: UnitOfWork, ctx: Context, room_id: str) -> None:
    """CFG-8: remove a conference room (it no longer counts)."""
    room = _owned(uow.conference_rooms, ctx, room_id)
    uow.conference_rooms.remove(room.id)


def update_web_channel(uow: UnitOfWork, ctx: Context, channel_id: str, **fields: Any) -> WebChannel:
    """CFG-10: the operator changes a click-to-call widget's channels; names and origins too."""
    channel = _owned(uow.web_channels, ctx, channel_id)
    changes = _only(fields, {"name", "channels", "allowed_origin"})
    if "channels" in changes:
        if not ctx.scope.is_operator:
            raise InvalidInput("channels", "The operator configures click-to-call channels (CFG-10)")
        check_positive("channels", changes["channels"])
    if "name" in changes:
        changes["name"] = _name(changes["name"])
    updated = replace(channel, **changes)
    uow.web_channels.update(updated)
    return updated


def remove_web_channel(uow: UnitOfWork, ctx: Context, channel_id: str) -> None:
    """CFG-10: remove a click-to-call widget."""
    channel = _owned(uow.web_channels, ctx, channel_id)
    uow.web_channels.remove(channel.id)


def remove_traffic_pack(uow: UnitOfWork, ctx: Context, pack_id: str) -> None:
    """CFG-11: remove a traffic pack (CAP-2: its channel limit no longer applies)."""
    pack = _owned(uow.packs, ctx, pack_id)
    uow.packs.remove(pack.id)


def update_trunk(uow: UnitOfWork, ctx: Context, trunk_id: str, **fields: Any) -> Trunk:
    """SIP-3: rename a trunk, change its limit, addresses or password; CFG-5 and SIP-5 still hold."""
    trunk = _owned(uow.trunks, ctx, trunk_id)
    changes = _only(
        fields, {"name", "channel_limit", "allowed_ips", "purpose", "sip_password", "emergency_number_id"}
    )
    if "name" in changes:
        changes["name"] = _name(changes["name"])
    if "purpose" in changes:
        changes["purpose"] = LinePurpose(changes["purpose"])
        refuse_alarm_and_lift_lines(changes["purpose"], "trunk")
    if changes.get("channel_limit") is not None:
        check_positive("channel_limit", changes["channel_limit"])
    if "allowed_ips" in changes:
        if trunk.auth is not TrunkAuth.IP:
            raise InvalidInput("allowed_ips", "Only IP-authenticated trunks have allowed addresses")
        changes["allowed_ips"] = _check_ips(changes["allowed_ips"] or "")
    if "sip_password" in changes:
        if trunk.auth is not TrunkAuth.REGISTRATION:
            raise InvalidInput("sip_password", "Only registering trunks have a SIP password")
        check_sip_password(changes["sip_password"] or "")
    if changes.get("emergency_number_id") is not None:
        _owned(uow.numbers, ctx, changes["emergency_number_id"], trunk.account_id)
    updated = replace(trunk, **changes)
    uow.trunks.update(updated)
    return updated


def remove_trunk(uow: UnitOfWork, ctx: Context, trunk_id: str) -> None:
    """SIP-3: remove a trunk; numbers routed to it are unassigned."""
    trunk = _owned(uow.trunks, ctx, trunk_id)
    for number in uow.numbers.list(trunk_id=trunk.id):
        uow.numbers.update(replace(number, trunk_id=None))
    uow.trunks.remove(trunk.id)


def remove_sound_file(uow: UnitOfWork, ctx: Context, sound_id: str) -> None:
    """CFG-12: remove a sound file."""
    sound = _owned(uow.sound_files, ctx, sound_id)
    uow.sound_files.remove(sound.id)


def get_carrier_trunk(uow: UnitOfWork, ctx: Context, carrier_id: str) -> CarrierTrunk:
    """SIP-1: one of the operator's carrier trunks (others see no such thing, TEN-4)."""
    found = uow.carrier_trunks.find(carrier_id) if ctx.scope.is_operator else None
    if found is None:
        raise NotFound("carrier trunk", carrier_id)
    return found


def update_carrier_trunk(uow: UnitOfWork, ctx: Context, carrier_id: str, **fields: Any) -> CarrierTrunk:
    """SIP-1: the operator changes a carrier gateway or takes it out of rotation."""
    carrier = get_carrier_trunk(uow, ctx, carrier_id)
    changes = _only(fields, {"name", "host", "port", "transport", "enabled"})
    if "name" in changes:
        changes["name"] = _name(changes["name"])
    if "host" in changes:
        if not str(changes["host"]).strip():
            raise InvalidInput("host", "The carrier gateway's host is required")
        changes["host"] = str(changes["host"]).strip()
    if "port" in changes and not 1 <= changes["port"] <= 65535:
        raise InvalidInput("port", "port must be 1..65535")
    if "transport" in changes and changes["transport"] not in ("udp", "tcp", "tls"):
        raise InvalidInput("transport", "transport is udp, tcp or tls")
    updated = replace(carrier, **changes)
    uow.carrier_trunks.update(updated)
    return updated


def remove_carrier_trunk(uow: UnitOfWork, ctx: Context, carrier_id: str) -> None:
    """SIP-1: the operator removes a carrier gateway."""
    carrier = get_carrier_trunk(uow, ctx, carrier_id)
    uow.carrier_trunks.remove(carrier.id)
