"""Brute-force, scanner and flood defence of the SIP server — SIP-5.

Every message a transport parsed passes ``SecurityGuard.admit`` before the transaction layer
sees it. A message that is not admitted is dropped without an answer, so a scanner learns
nothing from it:

* a banned source address: every message from it, until the ban expires (or ``unban``);
* a request whose User-Agent contains a known scanner's name (case-insensitive);
* a source address sending faster than its token bucket allows.

A source address is banned after ``max_auth_failures`` failed digest authentications within
``failure_window_s`` (``record_auth_failure``, called by the registrar when it answers 403).
A later successful authentication does not lift a ban. Trusted addresses (carriers, our own
gateways) are never banned, filtered or rate limited.

State is kept per source IP (the port is ignored) and pruned when idle, and the number of
tracked addresses is capped, so a spoofing flood cannot grow it without bound.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nuage.sip.message import SipRequest, SipResponse

log = logging.getLogger("nuage.sip.security")

KNOWN_SCANNERS: tuple[str, ...] = (
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "vaxsipuseragent",
    "sundayddr",
    "iwar",
    "sipsak",
    "sip auditor",
    "pplsip",
)


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Thresholds of the defences; 0 turns a limit off."""

    max_auth_failures: int = 10  # failed digest authentications ...
    failure_window_s: float = 60.0  # ... within this sliding window ban the address
    ban_s: float = 600.0
    scanner_user_agents: tuple[str, ...] = KNOWN_SCANNERS  # case-insensitive substrings
    rate_per_s: float = 50.0  # token bucket per source address: sustained messages/s (0: off)
    burst: int = 100  # and bucket size
    trusted: tuple[str, ...] = ()  # source IPs exempt from every defence (carriers)
    max_tracked: int = 100_000  # per-address entries kept before pruning early


@dataclass(frozen=True, slots=True)
class Ban:
    """An address whose messages are dropped until ``until`` (monotonic seconds)."""

    address: str
    since: float
    until: float
    reason: str
    remaining_s: float


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


@dataclass(slots=True)
class _BanEntry:
    since: float
    until: float
    reason: str


class SecurityGuard:
    """Decides, per received message, whether it may reach the transaction layer."""

    def __init__(
        self, settings: SecuritySettings | None = None, *, now: Callable[[], float] | None = None
    ) -> None:
        self.settings = settings or SecuritySettings()
        self._now = now or time.monotonic
        self._trusted = frozenset(self.settings.trusted)
        self._scanners = tuple(s.lower() for s in self.settings.scanner_user_agents if s)
        self._failures: dict[str, deque[float]] = {}
        self._bans: dict[str, _BanEntry] = {}
        self._buckets: dict[str, _Bucket] = {}
        self.dropped: dict[str, int] = {"banned": 0, "scanner": 0, "rate": 0}

    # -- the receive path --------------------------------------------------------------------
    def trust_carriers(self, hosts: Iterable[str]) -> None:
        """SIP-5: the operator's carrier gateways are exempt too; kept current from the directory."""
        self._trusted = frozenset(self.settings.trusted) | frozenset(hosts)

    def admit(self, message: SipRequest | SipResponse, host: str) -> bool:
        """True if a message from ``host`` may be processed; False: drop it silently."""
        if host in self._trusted:
            return True
        now = self._now()
        if self._bans and self._banned(host, now):
            self.dropped["banned"] += 1
            return False
        if isinstance(message, SipRequest) and self._scanners:
            agent = message.headers.get("user-agent")
            if agent:
                lowered = agent.lower()
                if any(name in lowered for name in self._scanners):
                    self.dropped["scanner"] += 1
                    log.debug("dropped %s from scanner %r at %s", message.method, agent, host)
                    return False
        if self.settings.rate_per_s > 0 and not self._take_token(host, now):
            self.dropped["rate"] += 1
            return False
        return True

    def is_banned(self, host: str) -> bool:
        """True while ``host`` is banned: its malformed messages get no 400 either."""
        return bool(self._bans) and host not in self._trusted and self._banned(host, self._now())

    def record_auth_failure(self, host: str) -> None:
        """A digest authentication from ``host`` failed; ban it at the threshold."""
        settings = self.settings
        if host in self._trusted or settings.max_auth_failures <= 0:
            return
        now = self._now()
        if self._banned(host, now):
            return
        failures = self._failures.get(host)
        if failures is None:
            if len(self._failures) >= settings.max_tracked:
                self.prune()
            failures = self._failures[host] = deque()
        failures.append(now)
        horizon = now - settings.failure_window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        if len(failures) >= settings.max_auth_failures:
            del self._failures[host]
            self.ban(host, reason=f"{len(failures)} failed authentications in {settings.failure_window_s:g}s")

    # -- operator ------------------------------------------------------------------------------
    def ban(self, host: str, *, reason: str = "operator", duration_s: float | None = None) -> None:
        """Ban ``host`` for ``duration_s`` (default: the configured ban period)."""
        now = self._now()
        until = now + (self.settings.ban_s if duration_s is None else duration_s)
        self._bans[host] = _BanEntry(now, until, reason)
        log.warning("banned %s for %.0fs: %s", host, until - now, reason)

    def unban(self, host: str) -> bool:
        """Lift a ban (and forget the failures counted); False if ``host`` was not banned."""
        self._failures.pop(host, None)
        entry = self._bans.pop(host, None)
        if entry is None:
            return False
        log.warning("unbanned %s", host)
        return True

    def bans(self) -> list[Ban]:
        """Current bans, the longest remaining first."""
        now = self._now()
        current = [
            Ban(host, e.since, e.until, e.reason, e.until - now)
            for host, e in self._bans.items()
            if e.until > now
        ]
        current.sort(key=lambda b: -b.until)
        return current

    def prune(self) -> None:
        """Forget expired bans, old failures and idle (refilled) buckets."""
        settings = self.settings
        now = self._now()
        for host in [h for h, e in self._bans.items() if e.until <= now]:
            del self._bans[host]
        horizon = now - settings.failure_window_s
        for host in [h for h, f in self._failures.items() if not f or f[-1] <= horizon]:
            del self._failures[host]
        if settings.rate_per_s > 0:
            full_after = settings.burst / settings.rate_per_s
            for host in [h for h, b in self._buckets.items() if now - b.updated >= full_after]:
                del self._buckets[host]

    @property
    def tracked(self) -> int:
        """Per-address entries held (failures, bans, buckets)."""
        return len(self._failures) + len(self._bans) + len(self._buckets)

    # -- internals -------------------------------------------------------------------------------
    def _banned(self, host: str, now: float) -> bool:
        entry = self._bans.get(host)
        if entry is None:
            return False
        if entry.until > now:
            return True
        del self._bans[host]
        log.info("ban of %s expired", host)
        return False

    def _take_token(self, host: str, now: float) -> bool:
        settings = self.settings
        bucket = self._buckets.get(host)
        if bucket is None:
            if len(self._buckets) >= settings.max_tracked:
                self.prune()
                if len(self._buckets) >= settings.max_tracked:
                    return False  # a flood of distinct addresses: refuse newcomers until pruned
            self._buckets[host] = _Bucket(settings.burst - 1.0, now)
            return True
        tokens = min(float(settings.burst), bucket.tokens + (now - bucket.updated) * settings.rate_per_s)
        bucket.updated = now
        if tokens < 1.0:
            bucket.tokens = tokens
            return False
        bucket.tokens = tokens - 1.0
        return True
