"""The typed change commands' common part: ``UNSET`` (a field the command leaves as it is) and ``given``.

Each noun's module defines its own frozen command (``UserChanges``, ``DeviceChanges``...) whose fields
default to ``UNSET``; ``None`` is a value (it clears an optional field).
"""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any


class Unset(Enum):
    """The type of ``UNSET``."""

    UNSET = "unset"


#: a field a change command does not change
UNSET = Unset.UNSET


def given(command: Any) -> dict[str, Any]:
    """The fields a change command sets, by name (those not ``UNSET``)."""
    return {
        f.name: getattr(command, f.name) for f in fields(command) if getattr(command, f.name) is not UNSET
    }
