"""The portal password policy: long enough, not common or breached, not the user's own details.

A password has 10 to 200 characters and must not be guessable: it is scored by zxcvbn (Dropbox's
estimator, installed with the package), whose dictionaries hold the most common and most breached
passwords, English words, names and keyboard patterns, and which is also given the user's e-mail
address and name. A score under 3 (fewer than about 10⁸ guesses) is refused, with zxcvbn's
advice. A password that contains the user's whole e-mail address or whole name is refused
whatever its score, and so is one that is only the address's local part or a word of the name.
Pure checks: no storage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from nuage.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
MIN_SCORE = 3  # zxcvbn: 0 too guessable .. 4 very unguessable; 3 resists an offline slow-hash attack
_SCORED_LENGTH = 100  # zxcvbn's cost grows with length; what follows is extra strength, not scored
_WORD = re.compile(r"[^\W_]{3,}")


def _personal(email: str | None, name: str | None) -> list[str]:
    """The user's own details that a password must not rest on, lower-cased."""
    found: list[str] = []
    if email:
        email = email.strip().lower()
        local, _, domain = email.partition("@")
        found += [email, local, domain.split(".")[0]]
        found += _WORD.findall(local)
    if name:
        name = name.strip().lower()
        found.append(name)
        found += _WORD.findall(name)
    return [item for item in dict.fromkeys(found) if len(item) >= 3]


def check_password(password: str, *, email: str | None = None, name: str | None = None) -> None:
    """Refuse a weak portal password with :class:`InvalidInput` on ``password``, saying why."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            "password", f"A password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in password):
        raise InvalidInput("password", "A password holds no control characters")
    folded = password.casefold()
    personal = _personal(email, name)
    wholes = [
        item for item in ((email or "").strip().lower(), (name or "").strip().lower()) if len(item) >= 3
    ]
    if any(item in folded for item in wholes) or folded in personal:
        raise InvalidInput("password", "A password must not be or contain your e-mail address or name")
    result = cast(
        dict[str, Any],
        zxcvbn(password[:_SCORED_LENGTH], user_inputs=personal, max_length=_SCORED_LENGTH),
    )
    if int(result["score"]) < MIN_SCORE:
        raise InvalidInput("password", _advice(result))


def _advice(result: dict[str, Any]) -> str:
    feedback = result.get("feedback") or {}
    warning = str(feedback.get("warning") or "").strip()
    suggestions: Sequence[str] = feedback.get("suggestions") or ()
    parts = ["This password is too easy to guess (common, breached, or built on a simple pattern)"]
    if warning:
        parts.append(warning.rstrip("."))
    if suggestions:
        parts.append(str(suggestions[0]).rstrip("."))
    return ". ".join(parts) + "."
