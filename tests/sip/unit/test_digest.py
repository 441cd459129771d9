"""Digest authentication: RFC test vectors, nonces, stale handling."""

from __future__ import annotations

import pytest

from nuage.adapters.redis_nonces import RedisNonceCounts
from nuage.config import ConfigError, load_settings
from nuage.sip import SipServer, SipSettings
from nuage.sip.digest import (
    NONCE_COUNTS_MAX,
    Credentials,
    DigestAuthenticator,
    MemoryNonceCounts,
    Verdict,
    authorization_header,
    compute_response,
)
from nuage.sip.memory import MemoryBindingStore, MemoryCdrSink, MemoryCredentialStore, MemoryDialPlan
from nuage.sip.message.auth import parse_auth
from nuage.sip.policy import DialPlanPolicy


def test_rfc2617_md5_qop_auth_vector() -> None:
    # RFC 2617 §3.5
    assert (
        compute_response(
            algorithm="MD5",
            username="Mufasa",
            realm="testrealm@host.com",
            password="Circle Of Life",
            method="GET",
            uri="/dir/index.html",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop="auth",
            nc="00000001",
            cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


def test_rfc7616_sha256_vector() -> None:
    # RFC 7616 §3.9.1 (the algorithm RFC 8760 brings to SIP)
    assert (
        compute_response(
            algorithm="SHA-256",
            username="Mufasa",
            realm="http-auth@example.org",
            password="Circle of Life",
            method="GET",
            uri="/dir/index.html",
            nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            qop="auth",
            nc="00000001",
            cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        )
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


UDP = ("UDP", "192.0.2.10")


def _answer(
    auth: DigestAuthenticator, challenge: str, password: str, *, uri: str = "sip:x", nc: int = 1
) -> Credentials:
    header = authorization_header(
        challenge, username="alice", password=password, method="REGISTER", uri=uri, nc=nc
    )
    credentials = auth.credentials([header])
    assert credentials is not None
    return credentials


async def _check(
    auth: DigestAuthenticator,
    credentials: Credentials,
    password: str | None = "pw",
    *,
    uri: str = "sip:x",
    source: tuple[str, str] | None = UDP,
) -> Verdict:
    return await auth.check(credentials, password, "REGISTER", request_uri=uri, source=source)


@pytest.mark.parametrize("index", [0, 1])
async def test_both_offered_algorithms_are_accepted(index: int) -> None:
    auth = DigestAuthenticator("nuage.local", algorithms=("SHA-256", "MD5"))
    challenge = auth.challenges(source=UDP)[index]
    assert parse_auth(challenge)[1]["algorithm"] in ("MD5", "SHA-256")
    assert await _check(auth, _answer(auth, challenge, "pw")) is Verdict.OK


async def test_wrong_password_and_unknown_user_are_both_invalid() -> None:
    auth = DigestAuthenticator("nuage.local")
    credentials = _answer(auth, auth.challenges(source=UDP)[0], "pw")
    assert await _check(auth, credentials, "other") is Verdict.INVALID
    assert await _check(auth, credentials, None) is Verdict.INVALID


async def test_old_nonce_and_a_nonce_of_another_secret_are_stale() -> None:
    clock = Clock()
    auth = DigestAuthenticator("nuage.local", nonce_ttl_s=60, now=clock)
    credentials = _answer(auth, auth.challenges(source=UDP)[0], "pw")
    clock.now += 61
    assert await _check(auth, credentials) is Verdict.STALE
    assert "stale=true" in auth.challenges(stale=True)[0]
    other = DigestAuthenticator("nuage.local", now=clock)  # another secret: our nonce is not its own
    assert await _check(other, credentials) is Verdict.STALE


@pytest.mark.parametrize("secret", [b"s" * 16, b"s" * 64, b"a long shared nonce secret " * 8])
async def test_nodes_sharing_a_nonce_secret_of_any_length_accept_each_other_s_nonces(
    secret: bytes,
) -> None:
    first = DigestAuthenticator("nuage.local", secret=secret)
    second = DigestAuthenticator("nuage.local", secret=secret)  # another node, the same settings
    credentials = _answer(first, first.challenges(source=UDP)[0], "pw")
    assert await _check(second, credentials) is Verdict.OK
    tampered = DigestAuthenticator("nuage.local", secret=secret[:-1] + b"!")
    assert await _check(tampered, _answer(first, first.challenges(source=UDP)[0], "pw")) is Verdict.STALE


def test_credentials_for_another_realm_are_ignored() -> None:
    auth = DigestAuthenticator("nuage.local")
    assert auth.credentials(['Digest username="a", realm="elsewhere", nonce="n", response="r"']) is None


# -- issue #20 item 1: replay ---------------------------------------------------------------------


@pytest.mark.rule("SIP-5")
async def test_the_digest_uri_must_be_the_request_uri() -> None:
    auth = DigestAuthenticator("nuage.local")
    challenge = auth.challenges(source=UDP)[0]
    # captured on a call to one number, replayed for a premium number
    credentials = _answer(auth, challenge, "pw", uri="sip:100@nuage.local")
    assert await _check(auth, credentials, uri="sip:0900123456@nuage.local") is Verdict.INVALID
    # the same URI written differently (host case, parameter order) is the same URI (§19.1.4)
    credentials = _answer(auth, challenge, "pw", uri="sip:100@NUAGE.local;transport=udp;lr")
    assert await _check(auth, credentials, uri="sip:100@nuage.local;lr;transport=UDP") is Verdict.OK


@pytest.mark.rule("SIP-5")
async def test_a_repeated_or_lower_nonce_count_is_a_replay() -> None:
    auth = DigestAuthenticator("nuage.local")
    challenge = auth.challenges(source=UDP)[0]
    assert await _check(auth, _answer(auth, challenge, "pw", nc=1)) is Verdict.OK
    assert await _check(auth, _answer(auth, challenge, "pw", nc=1)) is Verdict.STALE
    assert await _check(auth, _answer(auth, challenge, "pw", nc=3)) is Verdict.OK
    assert await _check(auth, _answer(auth, challenge, "pw", nc=2)) is Verdict.STALE
    assert await _check(auth, _answer(auth, challenge, "pw", nc=4)) is Verdict.OK


@pytest.mark.rule("SIP-5")
async def test_an_answer_without_qop_uses_its_nonce_once() -> None:
    auth = DigestAuthenticator("nuage.local")
    nonce = parse_auth(auth.challenges(source=UDP)[0])[1]["nonce"]
    old_style = f'Digest realm="nuage.local", nonce="{nonce}", algorithm=MD5'  # RFC 2617, no qop
    credentials = _answer(auth, old_style, "pw")
    assert "nc" not in credentials.params
    assert await _check(auth, credentials) is Verdict.OK
    assert await _check(auth, credentials) is Verdict.STALE
    assert await _check(auth, _answer(auth, auth.challenges(source=UDP)[0], "pw")) is Verdict.OK


@pytest.mark.rule("SIP-5")
async def test_a_nonce_is_good_only_from_the_address_it_was_issued_to() -> None:
    auth = DigestAuthenticator("nuage.local")
    credentials = _answer(auth, auth.challenges(source=UDP)[0], "pw")
    assert await _check(auth, credentials, source=("UDP", "203.0.113.66")) is Verdict.STALE
    assert await _check(auth, credentials, source=("TCP", "203.0.113.66")) is Verdict.STALE
    assert await _check(auth, credentials) is Verdict.OK
    unbound = DigestAuthenticator("nuage.local", bind_source=False)
    credentials = _answer(unbound, unbound.challenges(source=UDP)[0], "pw")
    assert await _check(unbound, credentials, source=("UDP", "203.0.113.66")) is Verdict.OK


async def test_nonce_counts_in_memory_are_bounded_and_never_forget_a_live_nonce() -> None:
    clock = Clock()
    counts = MemoryNonceCounts(max_entries=3, now=clock)
    for name in ("a", "b", "c"):
        assert await counts.advance(name, 1, 10)
    assert not await counts.advance("d", 1, 10)  # full of live nonces: refused, "a" not forgotten
    assert not await counts.advance("a", 1, 10)
    clock.now += 11
    assert await counts.advance("d", 1, 10)  # the expired ones make room
    assert len(counts) == 1


@pytest.mark.rule("SIP-5")
async def test_a_flood_of_answers_cannot_grow_the_nonce_counts() -> None:
    auth = DigestAuthenticator("nuage.local")
    assert isinstance(auth.counts, MemoryNonceCounts)
    for _ in range(50):  # wrong passwords: nothing recorded
        credentials = _answer(auth, auth.challenges(source=UDP)[0], "guess")
        assert await _check(auth, credentials) is Verdict.INVALID
    assert len(auth.counts) == 0


async def test_a_non_ascii_answer_is_invalid_not_an_error() -> None:
    auth = DigestAuthenticator("nuage.local")
    credentials = _answer(auth, auth.challenges(source=UDP)[0], "pw")
    forged = Credentials("alice", {**credentials.params, "response": "\u00e9" * 32, "nonce": "a.b.\u00e9"})
    assert await _check(auth, forged) is Verdict.INVALID


async def test_nonces_stay_distinct_and_valid_across_refills_of_the_random_salts() -> None:
    auth = DigestAuthenticator("nuage.local")
    nonces = [auth.new_nonce(UDP) for _ in range(2500)]  # several 4 KiB reads of random values
    assert len(set(nonces)) == len(nonces)
    salts = {nonce.split(".")[1] for nonce in nonces}
    assert len(salts) == len(nonces)
    assert all(len(salt) == 16 and int(salt, 16) >= 0 for salt in salts)  # 64 bits: no birthday clash
    for nonce in (nonces[0], nonces[511], nonces[512], nonces[-1]):
        challenge = f'Digest realm="nuage.local", nonce="{nonce}", algorithm=MD5, qop="auth"'
        assert await _check(auth, _answer(auth, challenge, "pw")) is Verdict.OK


async def test_the_bound_of_the_nonce_counts_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sip.nonce_counts_max`` (``NONCE_COUNTS_MAX``, 100,000, by default; at least 1,000): the
    live nonces a node keeps counts for, in memory or as its fallback while Redis is unreachable."""
    assert load_settings().sip.nonce_counts_max == NONCE_COUNTS_MAX == SipSettings().nonce_counts_max
    assert MemoryNonceCounts().max_entries == NONCE_COUNTS_MAX
    assert RedisNonceCounts("redis://127.0.0.1:1/0").local.max_entries == NONCE_COUNTS_MAX
    monkeypatch.setenv("NUAGE_SIP__NONCE_COUNTS_MAX", "250000")
    assert load_settings().sip.nonce_counts_max == 250_000
    monkeypatch.setenv("NUAGE_SIP__NONCE_COUNTS_MAX", "999")
    with pytest.raises(
        ConfigError, match="NUAGE_SIP__NONCE_COUNTS_MAX: Input should be greater than or equal to 1000"
    ):
        load_settings()
    credentials = MemoryCredentialStore([])
    server = SipServer(
        SipSettings(listen_port=0, nonce_counts_max=250_000),
        credentials=credentials,
        dial_plan=MemoryDialPlan(credentials),
        bindings=MemoryBindingStore(),
        policy=DialPlanPolicy(),
        cdr_sink=MemoryCdrSink(),
    )
    assert isinstance(server.authenticator.counts, MemoryNonceCounts)
    assert server.authenticator.counts.max_entries == 250_000
    assert RedisNonceCounts("redis://127.0.0.1:1/0", local_max=250_000).local.max_entries == 250_000
