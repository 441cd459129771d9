"""Errors Nuage raises on purpose. The edges (HTTP, SIP, CLI) map this tree in one table each.

* NuageError
  x NotFound               the thing does not exist, or the caller may not see it (TEN-4)
  x Conflict               the thing exists already, or is in use
  x InvalidInput           a field is malformed; ``details["field"]`` names it
  x TermViolation          a rule of the terms says no; carries ``rule_id``
  x RatingError            a call cannot be priced
  x UpstreamUnavailable    storage, carrier trunk, payment provider, mail server
"""

from __future__ import annotations

from typing import Any, ClassVar


class NuageError(Exception):
    """Base class for every error Nuage raises on purpose."""

    error_id: ClassVar[str] = "internal-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class NotFound(NuageError):
    """The object does not exist, or belongs to a tenant the caller may not see (TEN-4)."""

    error_id = "not-found"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"No such {kind}: {key}", kind=kind, id=str(key))
        self.kind = kind
        self.key = key


class Conflict(NuageError):
    """The request clashes with the current state (duplicate, in use, wrong state)."""

    error_id = "conflict"


class InvalidInput(NuageError):
    """A field of the request is malformed."""

    error_id = "invalid-input"

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class UnreadableAudio(InvalidInput):
    """An uploaded sound file is not audio that can be decoded (corrupt, or a format not known)."""

    error_id = "unreadable-audio"


class TermViolation(NuageError):
    """A rule of the terms says no; ``rule_id`` is the SPEC.md ID."""

    error_id = "term-violation"

    def __init__(self, rule_id: str, message: str, **details: Any) -> None:
        super().__init__(message, rule_id=rule_id, **details)
        self.rule_id = rule_id


class RatingError(NuageError):
    """A call detail record cannot be priced."""

    error_id = "rating-error"


class UpstreamUnavailable(NuageError):
    """A dependency did not answer; ``details["upstream"]`` names it."""

    error_id = "upstream-unavailable"

    def __init__(self, upstream: str, message: str, **details: Any) -> None:
        super().__init__(message, upstream=upstream, **details)
        self.upstream = upstream
