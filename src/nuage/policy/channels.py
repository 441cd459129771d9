"""CAP-3: the channels each account holds right now, counted in memory by the SIP process.

Counting: a call holds **one channel per account involved in it** — the calling account for
an outbound call, the called account for an inbound one, and for an internal call the calling
and the called account (once if they are the same account: a call between two users of one
account holds one of its channels, as it would hold one line of a PBX). A channel is taken
when the policy authorises the call and given back when the call ends (its CDR is written),
whatever the outcome. Emergency calls take channels too (they are calls on the account's
lines) but are never refused for capacity (EMG-4), so an account may briefly hold more
channels than its capacity.

The counter lives in one process and starts at zero: a restart forgets the calls it had (which
the restart has cut anyway); several SIP processes would need a shared counter.
"""

from __future__ import annotations

from collections.abc import Mapping


class ChannelCounter:
    """Channels in use per account, and which call holds which."""

    def __init__(self) -> None:
        self._in_use: dict[str, int] = {}
        self._held: dict[str, list[tuple[str, ...]]] = {}  # call id -> accounts, per authorisation

    def in_use(self, account_id: str) -> int:
        """Channels the account holds now."""
        return self._in_use.get(account_id, 0)

    def full(self, capacities: Mapping[str, int]) -> list[str]:
        """The accounts among ``capacities`` with no free channel."""
        return [a for a, channels in capacities.items() if self.in_use(a) >= channels]

    def acquire(self, call_id: str, accounts: tuple[str, ...]) -> None:
        """Take one channel of each account for ``call_id`` (no check: callers check first)."""
        for account_id in accounts:
            self._in_use[account_id] = self._in_use.get(account_id, 0) + 1
        self._held.setdefault(call_id, []).append(accounts)

    def release(self, call_id: str) -> None:
        """Give back the channels of the oldest authorisation of ``call_id`` (unknown: no-op)."""
        holds = self._held.get(call_id)
        if not holds:
            return
        accounts = holds.pop(0)
        if not holds:
            del self._held[call_id]
        for account_id in accounts:
            left = self._in_use.get(account_id, 0) - 1
            if left > 0:
                self._in_use[account_id] = left
            else:
                self._in_use.pop(account_id, None)

    def forget(self, call_id: str) -> None:
        """Give back every channel ``call_id`` holds."""
        while call_id in self._held:
            self.release(call_id)

    def held_calls(self) -> set[str]:
        """Call ids holding channels (for reconciliation with the calls in progress)."""
        return set(self._held)
