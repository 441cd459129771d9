"""Identifiers: opaque strings, prefixed by kind so that a log line tells what they name."""

from __future__ import annotations

import secrets
from typing import NewType

PartyId = NewType("PartyId", str)
UserId = NewType("UserId", str)
DeviceId = NewType("DeviceId", str)
NumberId = NewType("NumberId", str)


def new_id(prefix: str) -> str:
    """A new random id like ``usr_8f3k2...``: 16 random bytes, URL-safe."""
    return f"{prefix}_{secrets.token_hex(8)}"
