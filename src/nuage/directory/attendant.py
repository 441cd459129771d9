"""The auto-attendant's behaviour during one call, as a pure state machine.

Inputs are what the call reports: a DTMF key, a timer that expired, the prompts that finished
playing. Outputs are what the call must do: play prompts, start a timer, transfer the call to a
destination, hang up. Nothing here waits, reads a clock or touches the network, so every path is
tested by feeding inputs; the media application that answers the call runs the actions.

Behaviour: the menu's prompt plays; a key stops it (barge-in). A key with an option follows it
(another menu starts over there, dial-by-extension collects an extension ended by ``#`` or a
pause); a key without one plays the invalid prompt and the menu again; silence after the prompt
replays it. After ``max_attempts`` wrong keys or silences the call goes to the menu's failover
destination, else hears goodbye and is hung up. Timers carry a token, so a timer that expires
after the state moved on is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from nuage.directory.destinations import Destination, DestinationKind
from nuage.directory.menus import KEYS, Menu, Prompt

MAX_MENU_HOPS = 16  # menus leading to each other in a loop end the call
EXTENSION_DIGITS = 8
INTER_DIGIT_MS = 3000


@dataclass(frozen=True, slots=True)
class Play:
    """Play these prompts in turn (in the menu's language), then report ``prompt_finished``."""

    prompts: tuple[Prompt, ...]
    language: str


@dataclass(frozen=True, slots=True)
class StopPlaying:
    """Stop the prompt now (the caller pressed a key)."""


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Report ``timeout(token)`` after ``ms`` unless another timer starts first."""

    ms: int
    token: int


@dataclass(frozen=True, slots=True)
class Transfer:
    """Send the call to ``destination``; the attendant is done."""

    destination: Destination


@dataclass(frozen=True, slots=True)
class Hangup:
    """End the call; the attendant is done."""


Action = Play | StopPlaying | StartTimer | Transfer | Hangup


class Phase(StrEnum):
    """Where the attendant is."""

    PROMPTING = "prompting"  # the menu's prompt plays
    WAITING = "waiting"  # waiting for a key after the prompt
    EXTENSION = "extension"  # collecting an extension
    ENDING = "ending"  # goodbye plays, then hang up
    DONE = "done"


def _default(key: str) -> Prompt:
    return Prompt(default=key)


class Attendant:
    """One caller in the auto-attendant, starting at ``menu``.

    ``menus`` gives the account's other menus by id; ``extension_exists`` says whether an
    extension keyed in dial-by-extension is one of the account's.
    """

    def __init__(
        self,
        menu: Menu,
        menus: Mapping[str, Menu],
        extension_exists: Callable[[str], bool],
    ) -> None:
        self.menu = menu
        self.menus = menus
        self.extension_exists = extension_exists
        self.phase = Phase.PROMPTING
        self.attempts = 0
        self.hops = 0
        self.digits = ""
        self._token = 0
        self._after_prompt = Phase.WAITING

    # --- inputs -------------------------------------------------------------------------------------

    def start(self) -> list[Action]:
        """The call was answered: the menu's prompt plays."""
        return self._prompt(Prompt.parse(self.menu.prompt))

    def digit(self, key: str) -> list[Action]:
        """The caller pressed ``key``."""
        if self.phase in (Phase.ENDING, Phase.DONE) or len(key) != 1 or key not in KEYS:
            return []
        actions: list[Action] = [StopPlaying()] if self.phase is Phase.PROMPTING else []
        if self.phase is Phase.EXTENSION or self._after_prompt is Phase.EXTENSION:
            self.phase = Phase.EXTENSION
            return actions + self._extension_digit(key)
        destination = self.menu.option(key)
        if destination is None:
            return actions + self._failed(invalid=True)
        return actions + self._follow(destination)

    def prompt_finished(self) -> list[Action]:
        """The prompts asked for last finished playing."""
        if self.phase is Phase.ENDING:
            self.phase = Phase.DONE
            return [Hangup()]
        if self.phase is Phase.PROMPTING:
            self.phase = self._after_prompt
            if self.phase is Phase.EXTENSION:
                return [self._timer(INTER_DIGIT_MS if self.digits else self.menu.timeout_ms)]
            return [self._timer(self.menu.timeout_ms)]
        return []

    def timeout(self, token: int) -> list[Action]:
        """The timer ``token`` expired."""
        if token != self._token or self.phase not in (Phase.WAITING, Phase.EXTENSION):
            return []
        if self.phase is Phase.EXTENSION and self.digits:
            return self._extension_done()
        return self._failed(invalid=False)

    # --- transitions --------------------------------------------------------------------------------

    def _timer(self, ms: int) -> StartTimer:
        self._token += 1
        return StartTimer(ms, self._token)

    def _prompt(self, *prompts: Prompt, then: Phase = Phase.WAITING) -> list[Action]:
        self._token += 1  # any running timer is stale now
        self.phase = Phase.PROMPTING
        self._after_prompt = then
        return [Play(tuple(prompts), self.menu.language)]

    def _goodbye(self) -> list[Action]:
        self._token += 1
        self.phase = Phase.ENDING
        return [Play((_default("goodbye"),), self.menu.language)]

    def _follow(self, destination: Destination) -> list[Action]:
        if destination.kind is DestinationKind.HANGUP:
            return self._goodbye()
        if destination.kind is DestinationKind.MENU:
            target = self.menus.get(destination.target or "")
            self.hops += 1
            if target is None or self.hops > MAX_MENU_HOPS:
                return self._goodbye()
            self.menu, self.attempts = target, 0
            return self._prompt(Prompt.parse(target.prompt))  # its own language from now on
        if destination.kind is DestinationKind.DIAL_BY_EXTENSION:
            self.digits, self.attempts = "", 0
            return self._prompt(_default("enter_extension"), then=Phase.EXTENSION)
        self._token += 1
        self.phase = Phase.DONE
        return [Transfer(destination)]

    def _failed(self, *, invalid: bool) -> list[Action]:
        """A wrong key or a silence: try again, or give up after ``max_attempts``."""
        self.attempts += 1
        collecting = self.phase is Phase.EXTENSION or self._after_prompt is Phase.EXTENSION
        if self.attempts >= self.menu.max_attempts:
            failover = self.menu.invalid_destination if invalid else self.menu.timeout_destination
            if failover is not None and not collecting:
                return self._follow(Destination.parse(failover))
            return self._goodbye()
        if collecting:
            self.digits = ""
            notice = _default("unknown_extension") if invalid else _default("no_input")
            return self._prompt(notice, _default("enter_extension"), then=Phase.EXTENSION)
        notice = Prompt.parse(self.menu.invalid_prompt) if invalid else _default("no_input")
        return self._prompt(notice, Prompt.parse(self.menu.prompt))

    def _extension_digit(self, key: str) -> list[Action]:
        if key == "#":
            return self._extension_done() if self.digits else self._failed(invalid=False)
        if key == "*":  # start the extension over
            self.digits = ""
            return [self._timer(self.menu.timeout_ms)]
        self.digits += key
        if len(self.digits) > EXTENSION_DIGITS:
            return self._failed(invalid=True)
        return [self._timer(INTER_DIGIT_MS)]

    def _extension_done(self) -> list[Action]:
        digits, self.digits = self.digits, ""
        if not self.extension_exists(digits):
            self.phase = Phase.EXTENSION
            return self._failed(invalid=True)
        return self._follow(Destination(DestinationKind.EXTENSION, digits))
