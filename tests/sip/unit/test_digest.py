"""Digest authentication: RFC test vectors, nonces, stale handling."""

from __future__ import annotations

import pytest

from nuage.sip.digest import Credentials, DigestAuthenticator, Verdict, authorization_header, compute_response
from nuage.sip.message.headers import parse_auth


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


def _answer(auth: DigestAuthenticator, challenge: str, password: str) -> Credentials:
    header = authorization_header(
        challenge, username="alice", password=password, method="REGISTER", uri="sip:x"
    )
    credentials = auth.credentials([header])
    assert credentials is not None
    return credentials


@pytest.mark.parametrize("index", [0, 1])
def test_both_offered_algorithms_are_accepted(index: int) -> None:
    auth = DigestAuthenticator("nuage.local", algorithms=("SHA-256", "MD5"))
    challenge = auth.challenges()[index]
    assert parse_auth(challenge)[1]["algorithm"] in ("MD5", "SHA-256")
    assert auth.check(_answer(auth, challenge, "pw"), "pw", "REGISTER") is Verdict.OK


def test_wrong_password_and_unknown_user_are_both_invalid() -> None:
    auth = DigestAuthenticator("nuage.local")
    credentials = _answer(auth, auth.challenges()[0], "pw")
    assert auth.check(credentials, "other", "REGISTER") is Verdict.INVALID
    assert auth.check(credentials, None, "REGISTER") is Verdict.INVALID


def test_old_nonce_is_stale_but_a_forged_one_is_invalid() -> None:
    clock = Clock()
    auth = DigestAuthenticator("nuage.local", nonce_ttl_s=60, now=clock)
    credentials = _answer(auth, auth.challenges()[0], "pw")
    clock.now += 61
    assert auth.check(credentials, "pw", "REGISTER") is Verdict.STALE
    assert "stale=true" in auth.challenges(stale=True)[0]
    other = DigestAuthenticator("nuage.local", now=clock)  # another secret: our nonce is not its own
    assert other.check(credentials, "pw", "REGISTER") is Verdict.INVALID


def test_credentials_for_another_realm_are_ignored() -> None:
    auth = DigestAuthenticator("nuage.local")
    assert auth.credentials(['Digest username="a", realm="elsewhere", nonce="n", response="r"']) is None
