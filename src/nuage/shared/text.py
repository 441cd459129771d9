"""Names and labels people type: trimmed, bounded, and free of characters that are not text.

A control character (C0 ``U+0000-001F`` with NUL, DEL ``U+007F``, C1 ``U+0080-009F``) or a line or
paragraph separator in a name breaks the documents and the screens it is shown on (an invoice's
buyer, a CSV export, a log line) and can hide what it says; such a name is refused, naming the field.
"""

from __future__ import annotations

import unicodedata

from nuage.errors import InvalidInput

MAX_NAME = 200
_NOT_TEXT = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, lone surrogates, line/paragraph separators


def first_control(value: str) -> int | None:
    """The position of the first character of ``value`` that is not text, or None."""
    for position, character in enumerate(value):
        if unicodedata.category(character) in _NOT_TEXT:
            return position
    return None


def clean_name(value: str, field: str = "name", max_length: int = MAX_NAME) -> str:
    """A name or label: 1 to ``max_length`` characters once trimmed, none of them a control character."""
    cleaned = value.strip()
    if not cleaned or len(cleaned) > max_length:
        raise InvalidInput(field, f"{field} must have 1 to {max_length} characters")
    position = first_control(cleaned)
    if position is not None:
        code = f"U+{ord(cleaned[position]):04X}"
        raise InvalidInput(
            field, f"{field} holds a control character ({code} at position {position + 1})", character=code
        )
    return cleaned
