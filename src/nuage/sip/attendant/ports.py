"""What the auto-attendant and conference applications need from the rest of the platform.

``AttendantDirectory`` answers from the directory (which number or extension leads to a menu, a
schedule or a room; menus; PIN checks; the live participants' rows), ``ConferenceMixer`` is the
media engine's conference side (the embedded engine has one; without it rooms answer 503-like:
goodbye), ``prompt`` gives the shipped default prompts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nuage.directory.conferences import JoinRole
from nuage.directory.destinations import Destination
from nuage.directory.menus import Menu
from nuage.directory.model import ConferenceRoom
from nuage.sip.media import Recording, Tone

Sound = Path | Tone


@dataclass(frozen=True, slots=True)
class Answering:
    """A dialled string the platform answers itself: whose it is and where it leads."""

    account_id: str
    destination: Destination


@dataclass(frozen=True, slots=True)
class LiveState:
    """What the API asked of a participant."""

    muted: bool
    kicked: bool


class AttendantDirectory(Protocol):
    """The directory as the applications read and write it (each call off the event loop)."""

    async def answering(self, account_id: str | None, dialled: str) -> Answering | None:
        """A room's extension in the caller's account, or a number routed to an application (a
        caller from outside, ``account_id`` None: numbers only)."""
        ...

    async def menus(self, account_id: str) -> tuple[Mapping[str, Menu], frozenset[str]]:
        """The account's menus by id and its extensions (users' and rooms')."""
        ...

    async def schedule_destination(self, schedule_id: str) -> Destination | None:
        """Where the schedule sends a call now (None: no such schedule)."""
        ...

    async def room(self, room_id: str) -> ConferenceRoom | None: ...

    async def dial_string(self, account_id: str, destination: Destination, voicemail_code: str) -> str | None:
        """What the caller's phone dials to reach ``destination`` (a user's extension, an
        extension, an E.164 number, the voicemail code and the box's extension); None: nothing."""
        ...

    async def join_role(self, room: ConferenceRoom, entered: str) -> JoinRole | None:
        """CFG-8: what the PIN makes of the caller (None: refused)."""
        ...

    async def joined(self, room: ConferenceRoom, key: str, label: str, role: JoinRole) -> None: ...

    async def left(self, key: str) -> None: ...

    async def state(self, key: str) -> LiveState | None:
        """The participant's row (None: gone)."""
        ...

    async def sound_file(self, account_id: str, sound_file_id: str) -> Path | None:
        """CFG-12: the file of one of the account's sound files."""
        ...

    def prompt(self, language: str, key: str) -> Sound:
        """A shipped default prompt."""
        ...


class ConferenceMixer(Protocol):
    """The engine's conference rooms (CFG-8)."""

    async def join_conference(
        self, call_id: str, room_id: str, label: str, *, moderator: bool = False
    ) -> int: ...

    async def leave_conference(self, call_id: str, room_id: str) -> Recording | None:
        """The room's recording when the last participant left a recorded room."""
        ...

    async def record_conference(self, room_id: str, path: Path) -> None: ...

    async def mute_in_conference(self, call_id: str, room_id: str, muted: bool) -> None: ...


class MeetingRefused(Exception):
    """MTG-1/BIL-6: a phone may not enter the meeting room (``rule_id``; ``wrong_pin``: try again)."""

    def __init__(self, rule_id: str, reason: str, *, wrong_pin: bool = False) -> None:
        super().__init__(reason)
        self.rule_id = rule_id
        self.wrong_pin = wrong_pin


class MeetingLeg(Protocol):
    """A phone in a meeting room's sound on the WebRTC gateway: where the gateway takes its RTP."""

    host: str
    port: int

    async def keepalive(self) -> None:
        """Keep the gateway's side of the leg alive; ``MeetingRefused`` when the phone is no longer in
        the room (the host removed it, the gateway dropped it)."""
        ...

    async def leave(self) -> None:
        """The phone leaves the room."""
        ...


class MeetingBridge(Protocol):
    """MTG-1: Web Meeting rooms as phones reach them (each call off the event loop, bounded)."""

    async def language(self, room_id: str) -> str:
        """The language of the room's prompts; ``MeetingRefused`` when the room is closed, unknown or
        not paid yet (BIL-6)."""
        ...

    async def enter(
        self, room_id: str, pin: str, *, display: str, rtp_host: str, rtp_port: int, payload_type: int
    ) -> MeetingLeg:
        """Check the PIN, the payment (BIL-6) and the lock as for a browser, then join the room's
        sound as a plain RTP participant sending to ``rtp_host:rtp_port``; ``MeetingRefused``."""
        ...
