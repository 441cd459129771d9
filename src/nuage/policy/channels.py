"""CAP-3: the channels each account (and each customer trunk, SIP-3) holds right now.

Counting: a call holds **one channel per account involved in it** — the calling account for
an outbound call, the called account for an inbound one, and for an internal call the calling
and the called account (once if they are the same account: a call between two users of one
account holds one of its channels, as it would hold one line of a PBX). A call from or to a
customer trunk (SIP-3) also holds one channel of that trunk, which ``Trunk.channel_limit`` caps
on top of the account's capacity. A channel is taken when the policy authorises the call and
given back when the call ends (its CDR is written), whatever the outcome. Emergency calls take
channels too (they are calls on the account's lines) but are never refused for capacity
(EMG-4), so an account may briefly hold more channels than its capacity.

A call of the click-to-call widget (CFG-10) also holds one channel of its web channel, capped by the
channels the operator configured for it, counted among the calls in progress like the others (so
across SIP nodes with ``RedisChannels``) and given back when the call ends, however it ends.

Holders are named by strings: an account by its id, a trunk by ``trunk_holder(trunk_id)``, a web
channel by ``web_channel_holder(web_channel_id)``.

Two implementations of ``Channels``:

- ``ChannelCounter`` (here) counts in the memory of one SIP process. It starts at zero: a
  restart forgets the calls it had, which the restart has cut anyway. For one SIP node.
- ``RedisChannels`` (``nuage.adapters.redis_channels``) shares the counts of several SIP nodes
  in Redis; each node's holds carry its node id and a lease, so a node that died or restarted
  cannot leak channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

TRUNK_PREFIX = "trunk:"
WEB_CHANNEL_PREFIX = "web:"


def trunk_holder(trunk_id: str) -> str:
    """SIP-3: the holder name of a customer trunk's channels."""
    return TRUNK_PREFIX + trunk_id


def web_channel_holder(web_channel_id: str) -> str:
    """CFG-10: the holder name of a click-to-call widget's channels."""
    return WEB_CHANNEL_PREFIX + web_channel_id


class Channels(Protocol):
    """CAP-3: where the policy takes and gives back channels."""

    async def try_acquire(self, call_id: str, limits: Mapping[str, int | None]) -> list[str]:
        """Take one channel of every holder for ``call_id`` if each has one free (a ``None``
        limit is never full: EMG-4); otherwise take nothing and return the full holders."""
        ...

    def release(self, call_id: str) -> None:
        """Give back the channels of the oldest authorisation of ``call_id`` (unknown: no-op)."""
        ...

    def forget(self, call_id: str) -> None:
        """Give back every channel ``call_id`` holds."""
        ...

    def held_calls(self) -> set[str]:
        """Call ids holding channels on this node (for reconciliation with the calls in progress)."""
        ...

    def in_use(self, holder: str) -> int:
        """Channels the holder (an account id, or a trunk's holder) holds now, as far as known here."""
        ...

    async def start(self) -> None:
        """Connect to whatever the counts live in."""
        ...

    async def stop(self) -> None:
        """Give back this node's channels and disconnect."""
        ...


class ChannelCounter:
    """Channels in use per holder, and which call holds which, in this process's memory."""

    def __init__(self) -> None:
        self._in_use: dict[str, int] = {}
        self._held: dict[str, list[tuple[str, ...]]] = {}  # call id -> holders, per authorisation

    def in_use(self, holder: str) -> int:
        """Channels the holder holds now."""
        return self._in_use.get(holder, 0)

    def counts(self) -> dict[str, int]:
        """Every holder's channels in use (non-zero only)."""
        return dict(self._in_use)

    def full(self, capacities: Mapping[str, int | None]) -> list[str]:
        """The holders among ``capacities`` with no free channel (a None capacity is never full)."""
        return [
            h for h, channels in capacities.items() if channels is not None and self.in_use(h) >= channels
        ]

    async def try_acquire(self, call_id: str, limits: Mapping[str, int | None]) -> list[str]:
        """Check and take with no await in between: atomic on the event loop."""
        return self.take(call_id, limits)

    def take(self, call_id: str, limits: Mapping[str, int | None]) -> list[str]:
        """``try_acquire``, synchronously."""
        full = self.full(limits)
        if not full:
            self.acquire(call_id, tuple(limits))
        return full

    def acquire(self, call_id: str, holders: tuple[str, ...]) -> None:
        """Take one channel of each holder for ``call_id`` (no check: callers check first)."""
        for holder in holders:
            self._in_use[holder] = self._in_use.get(holder, 0) + 1
        self._held.setdefault(call_id, []).append(holders)

    def release(self, call_id: str) -> None:
        """Give back the channels of the oldest authorisation of ``call_id`` (unknown: no-op)."""
        self.release_holders(call_id)

    def release_holders(self, call_id: str) -> tuple[str, ...]:
        """``release``, returning the holders given back."""
        holds = self._held.get(call_id)
        if not holds:
            return ()
        holders = holds.pop(0)
        if not holds:
            del self._held[call_id]
        for holder in holders:
            left = self._in_use.get(holder, 0) - 1
            if left > 0:
                self._in_use[holder] = left
            else:
                self._in_use.pop(holder, None)
        return holders

    def forget(self, call_id: str) -> None:
        """Give back every channel ``call_id`` holds."""
        while call_id in self._held:
            self.release(call_id)

    def held_calls(self) -> set[str]:
        """Call ids holding channels (for reconciliation with the calls in progress)."""
        return set(self._held)

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Nothing to disconnect from."""
