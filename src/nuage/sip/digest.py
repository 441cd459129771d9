"""Digest authentication (RFC 2617 MD5, RFC 8760/7616 SHA-256, qop=auth) — SIP-1, SIP-5.

Nonces are stateless: a timestamp and an HMAC of it under a per-process secret, so any nonce
we issued can be checked without storage and an old one is answered with ``stale=true``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from nuage.sip.message.headers import parse_auth

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
# Challenges offered by default. RFC 8760 §2.4 lets a server offer SHA-256 and MD5 (preferred
# first), and answers with either are always verified. But deployed UAs break on a SHA-256
# challenge: SIPp answers only the first challenge and only with MD5, and baresip 1.0 (libre)
# fails the whole REGISTER with ENOSYS when any challenge is not MD5. So MD5 alone is the
# default; deployments whose phones all speak RFC 8760 set ("SHA-256", "MD5").
ALGORITHMS: tuple[str, ...] = ("MD5",)


def digest_hash(algorithm: str, text: str) -> str:
    """H() of RFC 7616 for MD5, SHA-256 and their -sess variants."""
    base = algorithm.upper().removesuffix("-SESS")
    return _HASHES[base](text.encode())


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The ``response`` value of RFC 2617 §3.2.2.1 / RFC 7616 §3.4.1."""
    ha1 = digest_hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = digest_hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = digest_hash(algorithm, f"{method}:{uri}")
    if qop:
        return digest_hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return digest_hash(algorithm, f"{ha1}:{nonce}:{ha2}")


def authorization_header(
    challenge: str, *, username: str, password: str, method: str, uri: str, nc: int = 1
) -> str:
    """A client's Authorization value answering a WWW-/Proxy-Authenticate challenge."""
    _, params = parse_auth(challenge)
    algorithm = params.get("algorithm", "MD5")
    qop = "auth" if "auth" in params.get("qop", "").split(",") else None
    cnonce = secrets.token_hex(8) if qop else None
    nc_text = f"{nc:08x}" if qop else None
    response = compute_response(
        algorithm=algorithm,
        username=username,
        realm=params.get("realm", ""),
        password=password,
        method=method,
        uri=uri,
        nonce=params.get("nonce", ""),
        qop=qop,
        nc=nc_text,
        cnonce=cnonce,
    )
    parts = [
        f'username="{username}"',
        f'realm="{params.get("realm", "")}"',
        f'nonce="{params.get("nonce", "")}"',
        f'uri="{uri}"',
        f'response="{response}"',
        f"algorithm={algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(parts)


class Verdict(Enum):
    """What checking credentials gave."""

    OK = "ok"
    STALE = "stale"  # right password, expired nonce: challenge again with stale=true
    MISSING = "missing"  # no credentials for our realm: challenge
    INVALID = "invalid"  # wrong password, unknown user, forged or malformed: refuse


@dataclass(frozen=True, slots=True)
class Credentials:
    """Parsed Authorization / Proxy-Authorization parameters."""

    username: str
    params: dict[str, str]


class DigestAuthenticator:
    """Issues challenges and checks answers for one realm."""

    def __init__(
        self,
        realm: str,
        *,
        nonce_ttl_s: float = 300.0,
        secret: bytes | None = None,
        now: Callable[[], float] = time.time,
        algorithms: tuple[str, ...] = ALGORITHMS,
    ) -> None:
        self.realm = realm
        self.algorithms = algorithms
        self._ttl = nonce_ttl_s
        self._secret = secret or secrets.token_bytes(32)
        self._now = now

    def new_nonce(self) -> str:
        """A nonce: hex timestamp, a random salt and an HMAC of both."""
        stamp = f"{int(self._now()):x}.{secrets.token_hex(4)}"
        mac = hmac.new(self._secret, f"{stamp}:{self.realm}".encode(), hashlib.sha256).hexdigest()[:24]
        return f"{stamp}.{mac}"

    def _nonce_state(self, nonce: str) -> Verdict:
        parts = nonce.split(".")
        if len(parts) != 3:
            return Verdict.INVALID
        stamp = f"{parts[0]}.{parts[1]}"
        mac = hmac.new(self._secret, f"{stamp}:{self.realm}".encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(mac, parts[2]):
            return Verdict.INVALID
        try:
            issued = int(parts[0], 16)
        except ValueError:
            return Verdict.INVALID
        return Verdict.STALE if self._now() - issued > self._ttl else Verdict.OK

    def challenges(self, *, stale: bool = False) -> list[str]:
        """One challenge per algorithm, in ``self.algorithms`` order (RFC 8760 §2.4)."""
        nonce = self.new_nonce()
        suffix = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={algorithm}, qop="auth"{suffix}'
            for algorithm in self.algorithms
        ]

    def credentials(self, header_values: list[str]) -> Credentials | None:
        """The Digest credentials for our realm among Authorization values, or None."""
        for value in header_values:
            scheme, params = parse_auth(value)
            if scheme.lower() == "digest" and params.get("realm") == self.realm and "username" in params:
                return Credentials(params["username"], params)
        return None

    def check(self, credentials: Credentials, password: str | None, method: str) -> Verdict:
        """Check an answer; ``password`` None (unknown user) costs the same and gives INVALID."""
        params = credentials.params
        algorithm = params.get("algorithm", "MD5")
        if algorithm.upper().removesuffix("-SESS") not in _HASHES:
            return Verdict.INVALID
        qop = params.get("qop") or None
        if qop not in (None, "auth"):
            return Verdict.INVALID
        expected = compute_response(
            algorithm=algorithm,
            username=credentials.username,
            realm=self.realm,
            password=password if password is not None else secrets.token_hex(8),
            method=method,
            uri=params.get("uri", ""),
            nonce=params.get("nonce", ""),
            qop=qop,
            nc=params.get("nc"),
            cnonce=params.get("cnonce"),
        )
        matches = hmac.compare_digest(expected, params.get("response", "").lower())
        if password is None or not matches:
            return Verdict.INVALID
        return self._nonce_state(params.get("nonce", ""))
