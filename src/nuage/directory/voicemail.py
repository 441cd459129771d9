"""Voicemail (issue #16), the domain: boxes, their messages, and the checks on what is set.

A box belongs to an account; a user's box (``user_id``) is reached when the user does not answer,
is busy or unregistered (per the user's forwarding) and by dialling the deposit code with the
user's extension; a shared box (no user, a list of members) serves a group under a number of its
own. A box has a PIN (argon2-hashed, never shown) to listen from a phone, greetings (unavailable,
busy, name: sound files of the box), a language for its prompts and e-mails (EN/FR/NL), where
messages are e-mailed, and how long messages are kept (retention). Messages are ``new`` until
heard, then ``old``; their audio is a compressed file (FLAC, like call recordings). Pure checks:
no storage.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nuage.errors import InvalidInput

LANGUAGES = ("en", "fr", "nl")
MIN_PIN, MAX_PIN = 4, 10
MAX_RETENTION_DAYS = 3650
MAX_MESSAGE_S = (10, 600)  # the bounds of a box's longest message
MAX_GREETING_BYTES = 5_000_000  # an uploaded greeting (a few minutes of compressed audio)
MAX_MEMBERS = 200
MIN_MESSAGE_MS = 500  # shorter: the caller said nothing, nothing is kept
_NUMBER = re.compile(r"[0-9]{1,16}")


class Folder(enum.StrEnum):
    """Where a message is: ``new`` until heard, then ``old``."""

    NEW = "new"
    OLD = "old"


class Greeting(enum.StrEnum):
    """A box's greetings: when the user is unavailable (no answer, unregistered), busy, its name."""

    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    NAME = "name"


class Reason(enum.StrEnum):
    """Why a caller reached the box (which greeting it hears)."""

    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    DIRECT = "direct"  # dialled the deposit code


@dataclass
class VoicemailBox:
    """A voicemail box of an account: a user's own, or shared by a group (``members``)."""

    id: str
    account_id: str
    name: str
    number: str  # dialled after the deposit code (a user's box: the user's extension)
    created_at: datetime
    user_id: str | None = None  # the user's own box; None: a shared box
    members: tuple[str, ...] = ()  # users whose phones show a shared box's messages (MWI)
    pin_hash: str | None = None  # argon2; None: no PIN set (listening from a phone is refused)
    language: str = "en"
    email: str | None = None  # where messages are e-mailed (None: not e-mailed)
    attach_audio: bool = True  # the e-mail carries the message's audio
    retention_days: int = 30  # messages older than this are deleted
    max_message_s: int = 120
    greetings: tuple[str, ...] = ()  # the greetings recorded or uploaded (``Greeting`` values)

    @property
    def has_pin(self) -> bool:
        """Whether the box can be listened to from a phone (the PIN itself is never shown)."""
        return self.pin_hash is not None

    def watchers(self) -> tuple[str, ...]:
        """The users whose phones light up for this box's new messages."""
        return (self.user_id,) if self.user_id is not None else self.members


@dataclass
class VoicemailMessage:
    """One message left in a box: who called, when, its compressed audio's size and length."""

    id: str
    box_id: str
    account_id: str
    caller: str  # the caller's number or extension as presented ("" when anonymous)
    received_at: datetime
    duration_ms: int
    size_bytes: int
    folder: Folder = Folder.NEW
    caller_name: str = ""
    heard_at: datetime | None = None
    emailed_at: datetime | None = None

    def expired(self, retention_days: int, now: datetime) -> bool:
        """Whether the box's retention has run out for this message."""
        return now - self.received_at >= timedelta(days=retention_days)


@dataclass(frozen=True)
class MessageCounts:
    """A box's new and old messages: what message-waiting indication (RFC 3842) shows."""

    new: int = 0
    old: int = 0

    @property
    def waiting(self) -> bool:
        """Whether a phone's lamp is lit."""
        return self.new > 0


@dataclass(frozen=True)
class BoxSettings:
    """What a box's settings may change (None: unchanged)."""

    name: str | None = None
    language: str | None = None
    email: str | None = None
    clear_email: bool = False
    attach_audio: bool | None = None
    retention_days: int | None = None
    max_message_s: int | None = None
    members: tuple[str, ...] | None = field(default=None)


def check_pin(pin: str) -> None:
    """A box PIN: 4 to 10 digits, typed on a phone's keypad."""
    if not (MIN_PIN <= len(pin) <= MAX_PIN and pin.isascii() and pin.isdigit()):
        raise InvalidInput("pin", f"A voicemail PIN has {MIN_PIN} to {MAX_PIN} digits")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise InvalidInput("pin", "A voicemail PIN must not be one digit repeated or a run of digits")


def check_language(language: str) -> str:
    """A box's language: one the prompts and e-mails exist in."""
    language = language.strip().lower()[:2]
    if language not in LANGUAGES:
        raise InvalidInput("language", f"The voicemail speaks {', '.join(LANGUAGES)}")
    return language


def check_number(number: str) -> str:
    """The number dialled after the deposit code: 1 to 16 digits."""
    if not _NUMBER.fullmatch(number):
        raise InvalidInput("number", "A voicemail box number has 1 to 16 digits")
    return number


def check_retention(days: int) -> int:
    """How long messages are kept: 1 day to 10 years."""
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput("retention_days", f"Messages are kept 1 to {MAX_RETENTION_DAYS} days")
    return days


def check_max_message(seconds: int) -> int:
    """The longest message a caller may leave."""
    low, high = MAX_MESSAGE_S
    if not low <= seconds <= high:
        raise InvalidInput("max_message_s", f"A message lasts at most {low} to {high} seconds")
    return seconds


def check_members(members: tuple[str, ...]) -> tuple[str, ...]:
    """A shared box's members: distinct user ids, a bounded list."""
    if len(members) > MAX_MEMBERS:
        raise InvalidInput("members", f"A shared box has at most {MAX_MEMBERS} members")
    return tuple(dict.fromkeys(members))


def language_of(*candidates: str | None) -> str:
    """The first of ``candidates`` the voicemail speaks (English otherwise)."""
    for candidate in candidates:
        if candidate and candidate.strip().lower()[:2] in LANGUAGES:
            return candidate.strip().lower()[:2]
    return "en"
