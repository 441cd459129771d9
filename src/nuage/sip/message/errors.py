"""The one error of the message layer."""

from __future__ import annotations

from typing import Any


class SipParseError(ValueError):
    """A message, header or URI that does not follow the grammar; ``str()`` is the 400 reason.

    ``partial`` holds the message as far as it could be read, so the transport can answer a
    malformed request with a 400 when its Via, From, To, Call-ID and CSeq are usable.
    """

    def __init__(self, reason: str, partial: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial
