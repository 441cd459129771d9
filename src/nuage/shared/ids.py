"""Identifiers: opaque strings, prefixed by kind so that a log line tells what they name."""

from __future__ import annotations

import secrets
import time
from typing import NewType

PartyId = NewType("PartyId", str)
UserId = NewType("UserId", str)
DeviceId = NewType("DeviceId", str)
NumberId = NewType("NumberId", str)


def new_id(prefix: str) -> str:
    """A new random id like ``usr_8f3k2...``: 16 random bytes, URL-safe."""
    return f"{prefix}_{secrets.token_hex(8)}"


def new_ordered_id(prefix: str) -> str:
    """A new id like ``cdr_0641a5c3e2f1b9d04c7e``: the creation time in microseconds, then 4 random
    bytes. Ids made later sort later, so an index keyed by them is filled at its end (rows written
    in bulk, such as CDRs and their cost records, do not scatter their key inserts)."""
    return f"{prefix}_{time.time_ns() // 1000:013x}{secrets.token_hex(4)}"
