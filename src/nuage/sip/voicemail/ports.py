"""The voicemail port of the SIP plane: boxes, messages and prompts as a call needs them.

The platform implements ``VoicemailStore`` over its use cases (``nuage.adapters.voicemail``) and
``Prompts`` over the prompt files it generated (``nuage.media.prompts``); ``nuage.sip.memory``-style
test doubles are not needed: tests run the real adapters over SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from nuage.sip.media import Recording, Tone


@dataclass(frozen=True, slots=True)
class Box:
    """A voicemail box as a call sees it."""

    box_id: str
    account_id: str
    number: str
    language: str  # en, fr or nl: the prompts it speaks
    max_message_s: int
    greetings: dict[str, Path] = field(default_factory=dict)  # Greeting value -> its file


@dataclass(frozen=True, slots=True)
class Message:
    """A message as the retrieval plays it."""

    message_id: str
    caller: str
    received_at: datetime
    path: Path
    new: bool


BoxListener = Callable[[str, tuple[str, ...]], None]
"""Told ``(box_id, watchers)`` when a box's messages changed (its watchers' lamps may change)."""


class VoicemailStore(Protocol):
    """The platform's voicemail boxes and messages (every call may hit a database: async)."""

    async def box_by_number(self, account_id: str, number: str) -> Box | None:
        """The account's box numbered ``number`` (a user's box: the user's extension), or None."""
        ...

    async def box_of_user(self, user_id: str) -> Box | None:
        """The user's own box, or None."""
        ...

    async def boxes_watched_by(self, user_id: str) -> list[Box]:
        """The boxes whose messages light the user's phones (their own, the shared ones they are in)."""
        ...

    async def recording_path(self, box: Box) -> Path:
        """A new file to record a message for ``box`` into (its directory exists)."""
        ...

    async def deposit(self, box: Box, caller: str, caller_name: str, recording: Recording) -> str | None:
        """Store a message left in ``box`` (compressed, e-mailed when the box says so); its id, or None
        when it was too short to keep (the file is removed)."""
        ...

    async def check_pin(self, box: Box, pin: str) -> bool:
        """Whether ``pin`` opens ``box`` (a box without a PIN opens to no one)."""
        ...

    async def messages(self, box: Box) -> list[Message]:
        """The box's messages: new ones first, each folder oldest first."""
        ...

    async def heard(self, box: Box, message_id: str) -> None:
        """The message was played: it moves to the old ones."""
        ...

    async def delete(self, box: Box, message_id: str) -> None:
        """Delete the message and its file."""
        ...

    async def counts(self, box_id: str) -> tuple[int, int]:
        """The box's (new, old) messages."""
        ...

    def listen(self, listener: BoxListener) -> None:
        """Tell ``listener`` about every box whose messages changed from now on."""
        ...


class Prompts(Protocol):
    """The voicemail's spoken prompts, per language (files generated at install, never fetched)."""

    def prompt(self, language: str, key: str) -> Path | Tone:
        """The prompt ``key`` (``nuage.media.prompts.TEXTS``) in ``language``."""
        ...

    def number(self, language: str, value: int) -> Path | Tone:
        """``value`` spoken (0 to 20, then "many")."""
        ...
