"""Voicemail (issue #16), the use cases: boxes and their settings, PINs, greetings, messages.

Every use case takes ``(uow, ctx, ...)`` and sees only the boxes of the accounts the caller may
see (TEN-4: another tenant's box is ``NotFound``, exactly like a missing one). The SIP plane
deposits and listens through ``nuage.adapters.voicemail``, which runs these in worker threads.
Files (messages and greetings, compressed) live in the data directory (``message_file``,
``greeting_file``); a use case that deletes a message leaves the file to its caller, removed once
the change is committed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from nuage.directory.rules import clean_email, clean_name
from nuage.directory.voicemail import (
    BoxSettings,
    Folder,
    Greeting,
    MessageCounts,
    VoicemailBox,
    VoicemailMessage,
    check_language,
    check_max_message,
    check_members,
    check_number,
    check_pin,
    check_retention,
    language_of,
)
from nuage.errors import Conflict, InvalidInput
from nuage.services.access import hash_secret, verify_secret
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id


def message_file(data_dir: Path, box: VoicemailBox, message_id: str) -> Path:
    """Where a message's audio is kept: ``<data_dir>/voicemail/<account>/<box>/<id>.flac``."""
    return data_dir / "voicemail" / box.account_id / box.id / f"{message_id}.flac"


def greeting_file(data_dir: Path, box: VoicemailBox, greeting: Greeting) -> Path:
    """Where a box's greeting is kept (FLAC, whatever was uploaded or recorded)."""
    return data_dir / "voicemail" / box.account_id / box.id / f"greeting-{greeting.value}.flac"


# --- boxes ----------------------------------------------------------------------------------------


def create_box(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    *,
    user_id: str | None = None,
    name: str | None = None,
    number: str | None = None,
    language: str | None = None,
    email: str | None = None,
    members: tuple[str, ...] = (),
) -> VoicemailBox:
    """A box for a user of the account (its number: the user's extension, its language and e-mail
    the user's unless given) or a shared box (a name, a number and members of the account)."""
    account = get_customer(uow, ctx, account_id)
    user = get_visible(uow.users, ctx, user_id, account_id=account.id) if user_id is not None else None
    if user is not None:
        if uow.voicemail_boxes.find_by(user_id=user.id) is not None:
            raise Conflict(f"{user.name} already has a voicemail box")
        number = number or user.extension
        name = name or user.name
        email = email if email is not None else user.email
        language = language or language_of(user.language)
        members = ()
    if not number:
        raise InvalidInput("number", "A box needs a number (a user's box: the user's extension)")
    if not name:
        raise InvalidInput("name", "A shared box needs a name")
    number = check_number(number)
    if uow.voicemail_boxes.find_by(account_id=account.id, number=number) is not None:
        raise Conflict(f"The account already has a voicemail box numbered {number}")
    for member in check_members(members):
        get_visible(uow.users, ctx, member, account_id=account.id)
    box = VoicemailBox(
        id=new_id("vmb"),
        account_id=account.id,
        name=clean_name(name),
        number=number,
        created_at=ctx.clock.now(),
        user_id=user.id if user is not None else None,
        members=check_members(members),
        language=check_language(language or "en"),
        email=clean_email(email) if email else None,
    )
    return uow.voicemail_boxes.add(box)


def get_box(uow: UnitOfWork, ctx: Context, box_id: str) -> VoicemailBox:
    """A box the caller may see (TEN-4)."""
    return get_visible(uow.voicemail_boxes, ctx, box_id)


def list_boxes(uow: UnitOfWork, ctx: Context, account_id: str) -> list[VoicemailBox]:
    """The account's boxes, by number."""
    account = get_customer(uow, ctx, account_id)
    return uow.voicemail_boxes.list(account_id=account.id, order_by=("number", "id"))


def update_box(uow: UnitOfWork, ctx: Context, box_id: str, settings: BoxSettings) -> VoicemailBox:
    """Change a box's settings (name, language, e-mail, attachment, retention, longest message,
    a shared box's members)."""
    box = get_box(uow, ctx, box_id)
    members = box.members
    if settings.members is not None:
        if box.user_id is not None:
            raise InvalidInput("members", "A user's own box has no members")
        members = check_members(settings.members)
        for member in members:
            get_visible(uow.users, ctx, member, account_id=box.account_id)
    email = box.email
    if settings.clear_email:
        email = None
    elif settings.email is not None:
        email = clean_email(settings.email)
    updated = replace(
        box,
        name=clean_name(settings.name) if settings.name is not None else box.name,
        language=check_language(settings.language) if settings.language is not None else box.language,
        email=email,
        attach_audio=settings.attach_audio if settings.attach_audio is not None else box.attach_audio,
        retention_days=check_retention(settings.retention_days)
        if settings.retention_days is not None
        else box.retention_days,
        max_message_s=check_max_message(settings.max_message_s)
        if settings.max_message_s is not None
        else box.max_message_s,
        members=members,
    )
    return uow.voicemail_boxes.update(updated)


def set_pin(uow: UnitOfWork, ctx: Context, box_id: str, pin: str) -> VoicemailBox:
    """Set the PIN that opens the box from a phone (argon2-hashed, never shown)."""
    box = get_box(uow, ctx, box_id)
    check_pin(pin)
    return uow.voicemail_boxes.update(replace(box, pin_hash=hash_secret(pin)))


def pin_opens(box: VoicemailBox, pin: str) -> bool:
    """Whether ``pin`` opens ``box`` (a box without a PIN opens to no one; constant cost)."""
    return verify_secret(box.pin_hash, pin)


def greeting_set(
    uow: UnitOfWork, ctx: Context, box_id: str, greeting: Greeting, present: bool
) -> VoicemailBox:
    """Record that a greeting's file was stored (``present``) or removed."""
    box = get_box(uow, ctx, box_id)
    kept = [g for g in box.greetings if g != greeting.value]
    if present:
        kept.append(greeting.value)
    return uow.voicemail_boxes.update(replace(box, greetings=tuple(sorted(kept))))


# --- messages -------------------------------------------------------------------------------------


def list_messages(
    uow: UnitOfWork, ctx: Context, box_id: str, folder: Folder | None = None
) -> list[VoicemailMessage]:
    """A box's messages, oldest first (new, then old, when no folder is named)."""
    box = get_box(uow, ctx, box_id)
    where: dict[str, Any] = {"folder": folder.value} if folder is not None else {}
    messages = uow.voicemail_messages.list(box_id=box.id, order_by=("received_at", "id"), **where)
    return sorted(messages, key=lambda m: m.folder != Folder.NEW) if folder is None else messages


def get_message(uow: UnitOfWork, ctx: Context, message_id: str) -> VoicemailMessage:
    """A message the caller may see (TEN-4)."""
    return get_visible(uow.voicemail_messages, ctx, message_id)


def mark_heard(uow: UnitOfWork, ctx: Context, message_id: str) -> VoicemailMessage:
    """The message was listened to: it moves to ``old``."""
    message = get_message(uow, ctx, message_id)
    if message.folder is Folder.OLD:
        return message
    return uow.voicemail_messages.update(replace(message, folder=Folder.OLD, heard_at=ctx.clock.now()))


def delete_message(uow: UnitOfWork, ctx: Context, message_id: str) -> VoicemailMessage:
    """Delete a message; the caller removes its file once the change is committed."""
    message = get_message(uow, ctx, message_id)
    uow.voicemail_messages.remove(message.id)
    return message


def counts(uow: UnitOfWork, box_id: str) -> MessageCounts:
    """A box's new and old messages (what its phones' lamps show)."""
    return MessageCounts(
        new=uow.voicemail_messages.count(box_id=box_id, folder=Folder.NEW.value),
        old=uow.voicemail_messages.count(box_id=box_id, folder=Folder.OLD.value),
    )


def add_message(uow: UnitOfWork, box: VoicemailBox, message: VoicemailMessage) -> VoicemailMessage:
    """A caller left ``message`` in ``box`` (the SIP plane, acting for the box's account)."""
    if message.box_id != box.id or message.account_id != box.account_id:
        raise InvalidInput("box_id", "The message does not belong to this box")
    return uow.voicemail_messages.add(message)


def mark_emailed(uow: UnitOfWork, message_id: str, at: datetime) -> None:
    """The message was e-mailed to its box's address."""
    message = uow.voicemail_messages.find(message_id)
    if message is not None:
        uow.voicemail_messages.update(replace(message, emailed_at=at))


def expired_messages(uow: UnitOfWork, now: datetime) -> list[tuple[VoicemailBox, VoicemailMessage]]:
    """The messages whose box's retention has run out, removed; the caller deletes their files."""
    removed = []
    for box in uow.voicemail_boxes.list(order_by=("id",)):
        for message in uow.voicemail_messages.list(box_id=box.id, order_by=("received_at", "id")):
            if not message.expired(box.retention_days, now):
                break
            uow.voicemail_messages.remove(message.id)
            removed.append((box, message))
    return removed
