"""Conference rooms (CFG-8): the rooms with their hashed PINs and extension, the PIN check at the
door, and the live participants (listed as the media plane reports them, muted and kicked from
the API; the media plane applies what the rows say)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.conferences import MAX_PARTICIPANTS, ConferenceParticipant, JoinRole
from nuage.directory.model import ConferenceRoom
from nuage.directory.rules import check_conference_pin, check_extension, clean_name
from nuage.errors import Conflict, InvalidInput
from nuage.services.access import hash_secret, verify_secret
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id
from nuage.terms.emergency import EMERGENCY_NUMBERS


@dataclass(frozen=True, kw_only=True)
class ConferenceRoomChanges:
    """What a change of a conference room sets; ``UNSET`` fields stay as they are, None clears."""

    name: str | Unset = UNSET
    pin: str | None | Unset = UNSET
    moderator_pin: str | None | Unset = UNSET
    extension: str | None | Unset = UNSET


def check_free_extension(uow: UnitOfWork, account_id: str, extension: str, room_id: str | None) -> None:
    """EMG-4 first, then one user or room per extension in an account."""
    check_extension(
        extension, extension in EMERGENCY_NUMBERS or uow.emergency_numbers.find(extension) is not None
    )
    if uow.users.find_by(account_id=account_id, extension=extension) is not None:
        raise Conflict(f"Extension {extension} is a user's", field="extension")
    other = uow.conference_rooms.find_by(account_id=account_id, extension=extension)
    if other is not None and other.id != room_id:
        raise Conflict(f"Extension {extension} is taken by conference room {other.name}", field="extension")


def _pin_hash(pin: str | None, field: str) -> str | None:
    if pin is None:
        return None
    try:
        check_conference_pin(pin)
    except InvalidInput as error:
        raise InvalidInput(field, error.message) from None
    return hash_secret(pin)


def add_conference_room(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    pin: str | None = None,
    *,
    moderator_pin: str | None = None,
    extension: str | None = None,
) -> ConferenceRoom:
    """CFG-8: each conference room created counts as one; its PINs are kept hashed only."""
    get_customer(uow, ctx, account_id)
    if pin is not None and pin == moderator_pin:
        raise InvalidInput("moderator_pin", "The moderator PIN must differ from the participants' PIN")
    if extension is not None:
        check_free_extension(uow, account_id, extension, None)
    room = ConferenceRoom(
        new_id("conf"),
        account_id,
        clean_name(name),
        ctx.clock.now(),
        pin_hash=_pin_hash(pin, "pin"),
        moderator_pin_hash=_pin_hash(moderator_pin, "moderator_pin"),
        extension=extension,
    )
    uow.conference_rooms.add(room)
    return room


def update_conference_room(
    uow: UnitOfWork, ctx: Context, room_id: str, change: ConferenceRoomChanges
) -> ConferenceRoom:
    """CFG-8: rename a room, set or clear its PINs (None clears) or its extension."""
    room = get_visible(uow.conference_rooms, ctx, room_id)
    values: dict[str, object] = {}
    if isinstance(change.name, str):
        values["name"] = clean_name(change.name)
    if not isinstance(change.pin, Unset):
        values["pin_hash"] = _pin_hash(change.pin, "pin")
    if not isinstance(change.moderator_pin, Unset):
        values["moderator_pin_hash"] = _pin_hash(change.moderator_pin, "moderator_pin")
    if isinstance(change.pin, str) and change.pin == change.moderator_pin:
        raise InvalidInput("moderator_pin", "The moderator PIN must differ from the participants' PIN")
    if not isinstance(change.extension, Unset):
        if change.extension is not None:
            check_free_extension(uow, room.account_id, change.extension, room.id)
        values["extension"] = change.extension
    updated = replace(room, **values)  # type: ignore[arg-type]
    uow.conference_rooms.update(updated)
    return updated


def remove_conference_room(uow: UnitOfWork, ctx: Context, room_id: str) -> None:
    """CFG-8: remove a conference room (it no longer counts); numbers routed to it lose that route."""
    room = get_visible(uow.conference_rooms, ctx, room_id)
    if uow.conference_participants.count(room_id=room.id):
        raise Conflict(f"Conference room {room.name} has participants; end the conference first")
    target = f"conference:{room.id}"
    for application in uow.number_applications.list(account_id=room.account_id):
        if application.destination == target:
            uow.number_applications.remove(application.number_id)
    uow.conference_rooms.remove(room.id)


def join_role(room: ConferenceRoom, entered: str) -> JoinRole | None:
    """CFG-8: what the PIN keyed at the door makes of the caller: the moderator PIN a moderator, the
    room's PIN (or any input when the room has none) a participant; None: refused. Argon2 checks
    take milliseconds: the media plane calls this off its event loop."""
    if room.moderator_pin_hash is not None and verify_secret(room.moderator_pin_hash, entered):
        return JoinRole.MODERATOR
    if room.pin_hash is None or verify_secret(room.pin_hash, entered):
        return JoinRole.PARTICIPANT
    return None


# --- live participants ---------------------------------------------------------------------------------


def participant_joined(
    uow: UnitOfWork, room: ConferenceRoom, key: str, label: str, role: JoinRole, ctx: Context
) -> ConferenceParticipant:
    """The media plane let a caller in: list them (a full room refuses them)."""
    if uow.conference_participants.count(room_id=room.id) >= MAX_PARTICIPANTS:
        raise Conflict(f"Conference room {room.name} is full ({MAX_PARTICIPANTS} participants)")
    participant = ConferenceParticipant(
        key, room.account_id, room.id, label[:200], ctx.clock.now(), moderator=role is JoinRole.MODERATOR
    )
    uow.conference_participants.add(participant)
    return participant


def participant_left(uow: UnitOfWork, key: str) -> None:
    """The caller hung up or was let go after a kick: no longer listed."""
    if uow.conference_participants.find(key) is not None:
        uow.conference_participants.remove(key)


def list_participants(uow: UnitOfWork, ctx: Context, room_id: str) -> list[ConferenceParticipant]:
    """CFG-8: who is in the room now, first joined first (kicked ones until the media plane let them go)."""
    room = get_visible(uow.conference_rooms, ctx, room_id)
    found = uow.conference_participants.list(room_id=room.id)
    return sorted(found, key=lambda p: (p.joined_at, p.id))


def _participant(uow: UnitOfWork, ctx: Context, room_id: str, key: str) -> ConferenceParticipant:
    room = get_visible(uow.conference_rooms, ctx, room_id)
    return get_visible(uow.conference_participants, ctx, key, room_id=room.id)


def set_participant_muted(
    uow: UnitOfWork, ctx: Context, room_id: str, key: str, muted: bool
) -> ConferenceParticipant:
    """CFG-8: mute or unmute a participant (they still hear the room)."""
    updated = replace(_participant(uow, ctx, room_id, key), muted=muted)
    uow.conference_participants.update(updated)
    return updated


def kick_participant(uow: UnitOfWork, ctx: Context, room_id: str, key: str) -> ConferenceParticipant:
    """CFG-8: ask the media plane to let a participant go (their call ends)."""
    updated = replace(_participant(uow, ctx, room_id, key), kicked=True)
    uow.conference_participants.update(updated)
    return updated
