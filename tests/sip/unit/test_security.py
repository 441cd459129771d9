"""Brute-force, scanner and flood defence (SIP-5), on an injected monotonic time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from nuage.shared.clock import SystemClock
from nuage.sip.digest import DigestAuthenticator, authorization_header
from nuage.sip.memory import MemoryBindingStore, MemoryCredentialStore
from nuage.sip.message import SipRequest, SipResponse, parse_message
from nuage.sip.ports import CarrierTrunk, SipAccount
from nuage.sip.registrar import Registrar
from nuage.sip.security import SecurityGuard, SecuritySettings
from nuage.sip.timers import Timers
from nuage.sip.transaction_layer import TransactionLayer
from nuage.sip.transport import Address
from sip.unit.test_registrar import PHONE, Collector, FakeTransport

pytestmark = pytest.mark.rule("SIP-5")

ATTACKER = "198.51.100.7"
OTHER = "198.51.100.8"
NO_RATE = SecuritySettings(rate_per_s=0)


class Time:
    """Monotonic seconds (called) and the wall clock of bans (``now()``), moved together."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


def at(host: str, port: int = 5060, transport: str = "UDP") -> Address:
    return Address(transport, host, port)


def request(user_agent: str | None = None, method: str = "OPTIONS") -> SipRequest:
    lines = [
        f"{method} sip:nuage.local SIP/2.0",
        "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKsec1",
        "From: <sip:100@nuage.local>;tag=a",
        "To: <sip:100@nuage.local>",
        "Call-ID: sec-1",
        f"CSeq: 1 {method}",
    ]
    if user_agent is not None:
        lines.append(f"User-Agent: {user_agent}")
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, SipRequest)
    return message


def test_failures_within_the_window_ban_the_address_for_the_ban_period() -> None:
    time = Time()
    guard = SecurityGuard(
        SecuritySettings(max_auth_failures=3, failure_window_s=60, ban_s=600), now=time, clock=time
    )
    guard.record_auth_failure(ATTACKER)
    guard.record_auth_failure(ATTACKER)
    assert guard.admit(request(), at(ATTACKER))
    guard.record_auth_failure(ATTACKER)
    assert not guard.admit(request(), at(ATTACKER))
    assert guard.admit(request(), at(OTHER))  # others are not affected
    (ban,) = guard.bans()
    assert ban.address == ATTACKER
    assert ban.remaining_s == 600
    assert "3 failed" in ban.reason
    time.t += 599
    assert not guard.admit(request(), at(ATTACKER))
    time.t += 1
    assert guard.admit(request(), at(ATTACKER))  # expired
    assert guard.bans() == []


def test_failures_outside_the_sliding_window_do_not_count() -> None:
    time = Time()
    guard = SecurityGuard(SecuritySettings(max_auth_failures=3, failure_window_s=60), now=time, clock=time)
    for _ in range(10):
        guard.record_auth_failure(ATTACKER)
        time.t += 31  # at most two failures in any 60 s
    assert guard.bans() == []
    assert guard.admit(request(), at(ATTACKER))


def test_ban_is_logged_once_and_survives_later_failures(caplog: pytest.LogCaptureFixture) -> None:
    time = Time()
    guard = SecurityGuard(SecuritySettings(max_auth_failures=2, ban_s=100), now=time, clock=time)
    with caplog.at_level("WARNING", logger="nuage.sip.security"):
        for _ in range(5):
            guard.record_auth_failure(ATTACKER)
            guard.admit(request(), at(ATTACKER))
    assert [r.getMessage() for r in caplog.records if "banned" in r.getMessage()] == [
        f"banned {ATTACKER} for 100s: 2 failed authentications in 60s"
    ]
    assert guard.bans()[0].until == datetime.fromtimestamp(1100, UTC)  # not extended while banned
    assert guard.dropped["banned"] == 4  # all but the first, sent before the ban


def test_unban_lifts_a_ban_and_forgets_the_failures() -> None:
    time = Time()
    guard = SecurityGuard(SecuritySettings(max_auth_failures=2), now=time, clock=time)
    guard.record_auth_failure(ATTACKER)
    guard.record_auth_failure(ATTACKER)
    assert guard.unban(ATTACKER)
    assert not guard.unban(ATTACKER)
    assert guard.admit(request(), at(ATTACKER))
    guard.record_auth_failure(ATTACKER)  # counting starts again
    assert guard.bans() == []


def test_trusted_addresses_are_never_banned_filtered_or_limited() -> None:
    guard = SecurityGuard(
        SecuritySettings(max_auth_failures=1, rate_per_s=1, burst=1, trusted=((ATTACKER, 5060),)), now=Time()
    )
    for _ in range(5):
        guard.record_auth_failure(ATTACKER)  # from another port of its host: banned ...
        assert guard.admit(request("friendly-scanner"), at(ATTACKER))  # ... the gateway still passes
    assert not guard.admit(request(), at(ATTACKER, 5070))  # the rest of the host is banned


@pytest.mark.parametrize(
    "agent",
    ["friendly-scanner", "SIPVicious 0.3.4", "sipcli/v1.8", "VaxSIPUserAgent/3.1", "sundayddr", "iWar"],
)
def test_scanner_user_agents_are_dropped_case_insensitively(agent: str) -> None:
    guard = SecurityGuard(NO_RATE, now=Time())
    assert not guard.admit(request(agent), at(ATTACKER))
    assert not guard.admit(request(agent.upper()), at(ATTACKER))
    assert guard.dropped["scanner"] == 2


def test_ordinary_user_agents_pass_and_the_list_is_configurable() -> None:
    guard = SecurityGuard(NO_RATE, now=Time())
    assert guard.admit(request("Linphone/5.2 (belle-sip)"), at(ATTACKER))
    assert guard.admit(request(None), at(ATTACKER))
    custom = SecurityGuard(SecuritySettings(rate_per_s=0, scanner_user_agents=("evil",)), now=Time())
    assert custom.admit(request("friendly-scanner"), at(ATTACKER))
    assert not custom.admit(request("Evil-Bot"), at(ATTACKER))


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    time = Time()
    guard = SecurityGuard(SecuritySettings(rate_per_s=10, burst=20), now=time, clock=time)
    assert all(guard.admit(request(), at(ATTACKER)) for _ in range(20))
    assert not guard.admit(request(), at(ATTACKER))
    assert guard.admit(request(), at(OTHER))  # per address
    time.t += 0.5  # 5 tokens back
    assert sum(guard.admit(request(), at(ATTACKER)) for _ in range(10)) == 5
    assert guard.dropped["rate"] == 6
    time.t += 100  # refills to the burst, not beyond
    assert sum(guard.admit(request(), at(ATTACKER)) for _ in range(30)) == 20


def test_rate_limit_zero_is_off() -> None:
    guard = SecurityGuard(NO_RATE, now=Time())
    assert all(guard.admit(request(), at(ATTACKER)) for _ in range(10_000))
    assert guard.tracked == 0


def test_idle_state_is_pruned_and_tracking_is_bounded() -> None:
    time = Time()
    guard = SecurityGuard(
        SecuritySettings(max_auth_failures=3, rate_per_s=10, burst=20, ban_s=30, max_tracked=100),
        now=time,
        clock=time,
    )
    for n in range(50):
        guard.admit(request(), at(f"203.0.113.{n}"))
        guard.record_auth_failure(f"203.0.113.{n}")
    guard.record_auth_failure(ATTACKER)
    guard.record_auth_failure(ATTACKER)
    guard.record_auth_failure(ATTACKER)
    assert guard.tracked == 101  # 50 buckets, 50 failure windows, 1 ban
    time.t += 61
    guard.prune()
    assert guard.tracked == 0
    for n in range(300):  # more distinct sources than max_tracked, all at once
        guard.admit(request(), at(f"192.0.2.{n % 256}.{n}"))
    assert guard.tracked <= 100


def test_config_defaults() -> None:
    settings = SecuritySettings()
    assert (settings.max_auth_failures, settings.failure_window_s, settings.ban_s) == (10, 60.0, 600.0)
    assert (settings.rate_per_s, settings.burst, settings.trusted) == (50.0, 100, ())


async def test_registrar_reports_the_source_of_a_wrong_password() -> None:
    failures: list[str] = []
    account = SipAccount("dev-a", "acc-1", "usr-a", "alice", "secret")
    auth = DigestAuthenticator("nuage.local")
    registrar = Registrar(
        MemoryCredentialStore([account]),
        MemoryBindingStore(),
        auth,
        SystemClock(),
        on_auth_failure=failures.append,
    )
    collector = Collector()
    layer = TransactionLayer(collector, Timers(t1=0.01), asyncio.get_running_loop())
    transport = FakeTransport()

    async def register(cseq: int, password: str | None) -> int:
        lines = [
            "REGISTER sip:nuage.local SIP/2.0",
            f"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKsecreg{cseq}",
            "From: <sip:alice@nuage.local>;tag=r1",
            "To: <sip:alice@nuage.local>",
            "Call-ID: sec-reg",
            f"CSeq: {cseq} REGISTER",
            "Contact: <sip:alice@192.0.2.10:5062>",
        ]
        if password is not None:
            challenge = parse_message(transport.sent[-1]).headers.get("www-authenticate") or ""
            lines.append(
                "Authorization: "
                + authorization_header(
                    challenge, username="alice", password=password, method="REGISTER", uri="sip:nuage.local"
                )
            )
        message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
        layer.receive(message, PHONE, transport)
        await registrar.handle(collector.requests[-1])
        response = parse_message(transport.sent[-1])
        assert isinstance(response, SipResponse)
        return response.status

    assert await register(1, None) == 401
    assert failures == []  # a challenge is no failure
    assert await register(2, "wrong") == 403
    assert failures == [PHONE.host]
    assert await register(3, None) == 401
    assert await register(4, "secret") == 200
    assert failures == [PHONE.host]


def test_carrier_gateways_are_trusted_as_the_directory_says_and_no_longer_once_removed() -> None:
    guard = SecurityGuard(SecuritySettings(rate_per_s=1, burst=1, trusted=((OTHER, 5060),)), now=Time())
    guard.trust_carriers([CarrierTrunk("carrier", ATTACKER, 5060)])
    assert all(guard.admit(request(), at(ATTACKER)) for _ in range(5))  # a carrier is never rate-limited
    guard.trust_carriers([])
    assert guard.admit(request(), at(ATTACKER))
    assert not guard.admit(request(), at(ATTACKER))  # burst of 1 spent: limited like anyone else
    assert all(guard.admit(request(), at(OTHER)) for _ in range(5))  # configured trust stays


def test_trust_is_exact_a_carrier_does_not_make_its_host_trusted() -> None:
    """Issue #20 item 10: the demo's carrier on loopback must not make every local client trusted."""
    guard = SecurityGuard(SecuritySettings(max_auth_failures=2, rate_per_s=1, burst=1), now=Time())
    guard.trust_carriers([CarrierTrunk("carrier", "127.0.0.1", 5090)])
    carrier, phone = at("127.0.0.1", 5090), at("127.0.0.1", 5070)
    assert guard.trusted(carrier)
    assert not guard.trusted(phone)
    assert guard.admit(request(), phone)
    assert not guard.admit(request(), phone)  # the phone's burst of 1 is spent: it is limited
    guard.record_auth_failure("127.0.0.1")
    guard.record_auth_failure("127.0.0.1")  # a phone of that host guessed passwords: the host is banned
    assert [ban.address for ban in guard.bans()] == ["127.0.0.1"]
    assert not guard.admit(request(), at("127.0.0.1", 5072))
    assert all(guard.admit(request(), carrier) for _ in range(5))  # the carrier alone still passes


def test_a_tcp_carrier_is_trusted_over_tcp_from_any_port_of_its_address_only() -> None:
    guard = SecurityGuard(SecuritySettings(rate_per_s=1, burst=1), now=Time())
    guard.trust_carriers([CarrierTrunk("carrier", "192.0.2.50", 5060, "TCP")])
    assert guard.trusted(at("192.0.2.50", 40123, "TCP"))  # its connections come from ports of its own
    assert not guard.trusted(at("192.0.2.50", 40123, "UDP"))  # a datagram may be spoofed: not trusted
    assert not guard.trusted(at("192.0.2.51", 40123, "TCP"))


def test_a_tls_carrier_is_trusted_over_tls_from_any_port_of_its_address_only() -> None:
    guard = SecurityGuard(SecuritySettings(rate_per_s=1, burst=1), now=Time())
    guard.trust_carriers([CarrierTrunk("carrier", "192.0.2.50", 5061, "TLS")])
    assert guard.trusted(at("192.0.2.50", 40123, "TLS"))
    assert not guard.trusted(at("192.0.2.50", 40123, "TCP"))
    assert not guard.trusted(at("192.0.2.50", 40123, "UDP"))
