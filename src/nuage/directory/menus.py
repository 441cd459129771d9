"""Auto-attendant (IVR) menus of an account: a prompt, DTMF choices, and what happens on silence
or a wrong key.

A prompt is one of the account's sound files (CFG-12, ``sound:<id>``) or a default prompt the
platform ships in English, French and Dutch (``default:<key>``). Each key ``0``-``9``, ``*``, ``#``
may lead to a destination (``directory.destinations``): an extension, a user, a group, a
voicemail box, another menu, an external number, dial-by-extension, hang up. The menu's behaviour
during a call is ``directory.attendant``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from nuage.directory.destinations import Destination

KEYS = "0123456789*#"
LANGUAGES = ("en", "fr", "nl")
#: the default prompts shipped in each language (``media/prompts/ivr_<key>_<lang>.wav``)
DEFAULT_PROMPTS = (
    "welcome",  # "Welcome. Please choose from the following options."
    "invalid",  # "That choice is not valid."
    "no_input",  # "We did not receive your choice."
    "enter_extension",  # "Please dial the extension, then the hash key."
    "unknown_extension",  # "That extension does not exist."
    "goodbye",  # "Thank you for calling. Goodbye."
    "closed",  # "We are closed at the moment."
    "conference_pin",  # "Please enter the conference PIN, then the hash key."
    "wrong_pin",  # "That PIN is not correct."
    "conference_alone",  # "You are the first participant."
)
MIN_TIMEOUT_MS = 1000
MAX_TIMEOUT_MS = 30000
MAX_ATTEMPTS = 9


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a menu plays: an account's sound file or a shipped default prompt."""

    sound_file_id: str | None = None
    default: str | None = None

    @classmethod
    def parse(cls, text: str) -> Prompt:
        """``sound:<id>`` or ``default:<key>``; ValueError otherwise."""
        kind, _, value = text.strip().partition(":")
        if kind == "sound" and value and len(value) <= 40 and value.replace("_", "").isalnum():
            return cls(sound_file_id=value)
        if kind == "default" and value in DEFAULT_PROMPTS:
            return cls(default=value)
        keys = ", ".join(DEFAULT_PROMPTS)
        raise ValueError(f"{text!r} is not a prompt (sound:<sound file id> or default:<one of {keys}>)")

    def __str__(self) -> str:
        return f"sound:{self.sound_file_id}" if self.sound_file_id else f"default:{self.default}"


@dataclass
class Menu:
    """An auto-attendant menu."""

    id: str
    account_id: str
    name: str
    created_at: datetime
    prompt: str = "default:welcome"
    options: Mapping[str, str] = field(default_factory=dict)  # key -> destination
    language: str = "en"  # the default prompts' language
    timeout_ms: int = 5000  # waiting for a key once the prompt ended
    max_attempts: int = 3  # silences and wrong keys before giving up
    invalid_prompt: str = "default:invalid"
    timeout_destination: str | None = None  # after the last silence; None: goodbye, hang up
    invalid_destination: str | None = None  # after the last wrong key; None: goodbye, hang up

    def check(self) -> None:
        """ValueError naming what is wrong in the menu's settings."""
        Prompt.parse(self.prompt)
        Prompt.parse(self.invalid_prompt)
        if self.language not in LANGUAGES:
            raise ValueError(f"language {self.language!r} is not one of {', '.join(LANGUAGES)}")
        if not MIN_TIMEOUT_MS <= self.timeout_ms <= MAX_TIMEOUT_MS:
            raise ValueError(f"timeout_ms must be {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS}")
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS:
            raise ValueError(f"max_attempts must be 1 to {MAX_ATTEMPTS}")
        for key, text in self.options.items():
            if len(key) != 1 or key not in KEYS:
                raise ValueError(f"option {key!r} is not a key (one of {KEYS})")
            Destination.parse(text)
        for failover in (self.timeout_destination, self.invalid_destination):
            if failover is not None:
                Destination.parse(failover)

    def option(self, key: str) -> Destination | None:
        """Where ``key`` leads, if anywhere."""
        text = self.options.get(key)
        return Destination.parse(text) if text is not None else None
