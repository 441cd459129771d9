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
gateways) are never banned, filtered or rate limited; trust is exact: an address *and* port as
configured, so a carrier on a host does not make every client of that host trusted (a carrier
on TCP or TLS, which connects from ports of its own choosing, is trusted for what arrives over
that transport from its address).

Bans are kept in wall-clock time (the injected clock) so that they can be stored and shared:
``on_change`` hears every ban and lift (``nuage.sip.bans`` writes them behind and keeps the
guard in step with the other nodes), and ``replace_bans`` takes what the store holds.

State is kept per source IP (the port is ignored) and pruned when idle, and the number of
tracked addresses is capped, so a spoofing flood cannot grow it without bound.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nuage.shared.clock import Clock, SystemClock
from nuage.sip.message import SipRequest, SipResponse
from nuage.sip.ports import BanRecord, CarrierTrunk
from nuage.sip.transport import Address

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
    trusted: tuple[tuple[str, int], ...] = ()  # (IP, port) exempt from every defence (carriers)
    max_tracked: int = 100_000  # per-address entries kept before pruning early


@dataclass(frozen=True, slots=True)
class Ban:
    """An address whose messages are dropped until ``until`` (aware UTC)."""

    address: str
    since: datetime
    until: datetime
    reason: str
    remaining_s: float


BanChange = Callable[[str, BanRecord | None], None]
"""Told every ban (the address and its record) and every lift (the address and None)."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class SecurityGuard:
    """Decides, per received message, whether it may reach the transaction layer."""

    def __init__(
        self,
        settings: SecuritySettings | None = None,
        *,
        now: Callable[[], float] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``now``: monotonic seconds (failure windows, buckets); ``clock``: wall time of bans."""
        self.settings = settings or SecuritySettings()
        self._now = now or time.monotonic
        self._clock = clock or SystemClock()
        self._trusted = frozenset(self.settings.trusted)
        self._trusted_tcp: frozenset[tuple[str, str]] = frozenset()  # (host, "TCP" or "TLS")
        self._scanners = tuple(s.lower() for s in self.settings.scanner_user_agents if s)
        self._failures: dict[str, deque[float]] = {}
        self._bans: dict[str, BanRecord] = {}
        self._buckets: dict[str, _Bucket] = {}
        self.dropped: dict[str, int] = {"banned": 0, "scanner": 0, "rate": 0}
        self.on_change: BanChange | None = None

    # -- the receive path --------------------------------------------------------------------
    def trust_carriers(self, carriers: Iterable[CarrierTrunk]) -> None:
        """SIP-5: the operator's carrier gateways are exempt too, each at its address and port;
        kept current from the directory."""
        carriers = tuple(carriers)
        self._trusted = frozenset(self.settings.trusted) | {(c.host, c.port) for c in carriers}
        self._trusted_tcp = frozenset(
            (c.host, c.transport.upper()) for c in carriers if c.transport.upper() in ("TCP", "TLS")
        )

    def trusted(self, source: Address) -> bool:
        """SIP-5: whether ``source`` is exempt: its address and port exactly as configured, or a
        TCP (or TLS) carrier's address over TCP (TLS)."""
        return (source.host, source.port) in self._trusted or (
            (source.host, source.transport.upper()) in self._trusted_tcp
        )

    def admit(self, message: SipRequest | SipResponse, source: Address) -> bool:
        """True if a message from ``source`` may be processed; False: drop it silently."""
        if self.trusted(source):
            return True
        host = source.host
        now = self._now()
        if self._bans and self._banned(host):
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
        return bool(self._bans) and self._banned(host)

    def record_auth_failure(self, host: str) -> None:
        """A digest authentication from ``host`` failed; ban it at the threshold.

        Trusted gateways never authenticate by digest: a failure from their host came from
        another port, a client like any other (the gateway itself stays admitted when banned).
        """
        settings = self.settings
        if settings.max_auth_failures <= 0:
            return
        now = self._now()
        if self._banned(host):
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
        now = self._clock.now()
        duration = self.settings.ban_s if duration_s is None else duration_s
        record = BanRecord(host, now, now + timedelta(seconds=duration), reason)
        self._bans[host] = record
        log.warning("banned %s for %.0fs: %s", host, duration, reason)
        if self.on_change is not None:
            self.on_change(host, record)

    def unban(self, host: str) -> bool:
        """Lift a ban (and forget the failures counted); False if ``host`` was not banned."""
        self._failures.pop(host, None)
        entry = self._bans.pop(host, None)
        if entry is None:
            return False
        log.warning("unbanned %s", host)
        if self.on_change is not None:
            self.on_change(host, None)
        return True

    def replace_bans(self, records: Iterable[BanRecord]) -> None:
        """Hold exactly these bans (what the store says: other nodes' bans, the operator's lifts);
        nobody is told (they came from the store)."""
        now = self._clock.now()
        bans = {r.address: r for r in records if r.until > now}
        for host in bans.keys() - self._bans.keys():
            self._failures.pop(host, None)
            log.warning("banned %s until %s: %s (stored)", host, bans[host].until, bans[host].reason)
        for host in self._bans.keys() - bans.keys():
            self._failures.pop(host, None)
            log.info("ban of %s lifted or expired (stored)", host)
        self._bans = bans

    def bans(self) -> list[Ban]:
        """Current bans, the longest remaining first."""
        now = self._clock.now()
        current = [
            Ban(host, e.since, e.until, e.reason, (e.until - now).total_seconds())
            for host, e in self._bans.items()
            if e.until > now
        ]
        current.sort(key=lambda b: b.until, reverse=True)
        return current

    def prune(self) -> None:
        """Forget expired bans, old failures and idle (refilled) buckets."""
        settings = self.settings
        now = self._now()
        wall = self._clock.now()
        for host in [h for h, e in self._bans.items() if e.until <= wall]:
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
    def _banned(self, host: str) -> bool:
        entry = self._bans.get(host)
        if entry is None:
            return False
        if entry.until > self._clock.now():
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
