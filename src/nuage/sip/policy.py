"""Default CallPolicy: authorise whatever the dial plan resolved.

The terms-based policy (CAP-3 capacity, SIP-2 caller ID, PAY-3 minimum service, SIP-4
auto-dialers) is the control plane's; this one is the lab default and a base to build on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from nuage.sip.ports import Authorization, CallAttempt, Destination, Refusal


class DialPlanPolicy:
    """Authorises every resolved attempt with one route and an optional duration ceiling."""

    def __init__(self, max_duration: timedelta | None = None) -> None:
        self._max_duration = max_duration

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        """One route: the resolved destination; EMG-4: emergency calls get no time limit."""
        limit = None if attempt.emergency else self._max_duration
        return Authorization(routes=(attempt.destination,), max_duration=limit)


class HuntPolicy:
    """Authorises every attempt with a hunt list: the resolved destination, then ``fallbacks``.

    The B2BUA tries them in order while a route is unreachable (no registered contact, a
    timeout or a server error); for lab set-ups and tests of hunting.
    """

    def __init__(self, fallbacks: Sequence[Destination], max_duration: timedelta | None = None) -> None:
        self._fallbacks = tuple(fallbacks)
        self._max_duration = max_duration

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        """The resolved destination first; EMG-4: emergency calls get no time limit."""
        limit = None if attempt.emergency else self._max_duration
        return Authorization(routes=(attempt.destination, *self._fallbacks), max_duration=limit)


class RefuseAllPolicy:
    """Refuses every non-emergency attempt citing one rule; for tests of the refusal path."""

    def __init__(self, rule_id: str, reason: str) -> None:
        self._refusal = Refusal(rule_id, reason)

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        """EMG-4: emergency calls still go through."""
        if attempt.emergency:
            return Authorization(routes=(attempt.destination,), max_duration=None)
        return self._refusal
