"""Digest authentication (RFC 2617 MD5, RFC 8760/7616 SHA-256, qop=auth) — SIP-1, SIP-5.

A nonce is a timestamp, a salt and a MAC of both (and of the client's source address, when
``bind_source``: UDP and TCP sources) under a secret, so a nonce we issued is checked without
storage; an old one, or one presented from another address, is answered with ``stale=true``.

An answer is accepted only once for what it covers, so a captured Authorization cannot be
replayed (toll fraud, a contact added by someone else):

* its ``uri`` must be the Request-URI, as sent or equal as SIP URIs (RFC 3261 §19.1.4);
* the challenge always offers ``qop="auth"``; with qop, ``nc`` must grow for each use of a
  nonce (RFC 7616 §3.4.5: a repeated or lower count is a replay); without qop (RFC 2617
  clients) there is no count, so the nonce is single-use;
* the highest count per nonce lives in a ``NonceCounts`` store: in memory (bounded, expiring
  with the nonces) or shared by several SIP nodes (Redis, in ``nuage.adapters``). When the
  store is full, new nonces are answered stale rather than forgetting live ones.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from nuage.sip.identifiers import random_hex16
from nuage.sip.message import SipParseError, SipUri
from nuage.sip.message.auth import parse_auth
from nuage.sip.message.uri import uri_equivalent

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


NONCE_COUNTS_MAX = 100_000
"""Live nonces whose counts one node keeps by default (``sip.nonce_counts_max``): past that, answers
on new nonces are refused as stale until older ones expire; a live one is never forgotten."""
SINGLE_USE = 2**32  # the count recorded for an answer without qop: no later use of the nonce
BOUND_TRANSPORTS = frozenset({"UDP", "TCP"})  # sources whose address a nonce is bound to


class NonceCounts(Protocol):
    """The highest nonce-count accepted per nonce, shared by the SIP nodes that check them."""

    async def advance(self, nonce: str, count: int, ttl_s: float) -> bool:
        """Record ``count`` if it is above the recorded one (kept ``ttl_s``); False: a replay, or
        no room to remember it."""
        ...


class MemoryNonceCounts:
    """NonceCounts of one node: bounded, each entry forgotten when its nonce expires."""

    def __init__(
        self, max_entries: int = NONCE_COUNTS_MAX, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self._now = now
        self._counts: OrderedDict[str, tuple[int, float]] = OrderedDict()  # nonce -> (count, expires)

    def __len__(self) -> int:
        return len(self._counts)

    async def advance(self, nonce: str, count: int, ttl_s: float) -> bool:
        """Record ``count`` for ``nonce`` if higher than the recorded one."""
        now = self._now()
        entry = self._counts.get(nonce)
        if entry is not None and entry[1] > now:
            if count <= entry[0]:
                return False
            self._counts[nonce] = (count, entry[1])
            return True
        counts = self._counts
        while counts:  # expired entries go first, oldest first (insertion order ~ issue order)
            oldest = next(iter(counts.values()))
            if oldest[1] > now and len(counts) < self.max_entries:
                break
            if oldest[1] > now:
                return False  # full of live nonces: never forget one (its replay would pass)
            counts.popitem(last=False)
        counts[nonce] = (count, now + ttl_s)
        return True


class DigestAuthenticator:
    """Issues challenges and checks answers for one realm."""

    def __init__(
        self,
        realm: str,
        *,
        nonce_ttl_s: float = 60.0,
        secret: bytes | None = None,
        now: Callable[[], float] = time.time,
        algorithms: tuple[str, ...] = ALGORITHMS,
        counts: NonceCounts | None = None,
        bind_source: bool = True,
    ) -> None:
        self.realm = realm
        self.algorithms = algorithms
        self._ttl = nonce_ttl_s
        key = secret or secrets.token_bytes(32)
        # BLAKE2b takes a key of at most 64 bytes: a longer configured secret is hashed to 64
        self._secret = key if len(key) <= 64 else hashlib.blake2b(key).digest()
        self._now = now
        self.counts: NonceCounts = counts if counts is not None else MemoryNonceCounts()
        self.bind_source = bind_source

    def _binding(self, source: tuple[str, str] | None) -> str:
        """What a nonce is bound to: the source host of a UDP/TCP client, else nothing."""
        if source is None or not self.bind_source or source[0].upper() not in BOUND_TRANSPORTS:
            return ""
        return source[1]

    def _mac(self, stamp: str, binding: str) -> str:
        """96 bits of keyed BLAKE2b (a MAC by design, RFC 7693 §2.5) over the nonce's fields.

        Not ``hmac.digest(..., "sha256")``: OpenSSL looks the algorithm up by name on every call
        (2.2 µs against 0.7 µs here), which made the MAC about 15 % of the event loop's samples in
        a REGISTER flood (issue #22).
        """
        text = f"{stamp}:{self.realm}:{binding}".encode()
        return hashlib.blake2b(text, key=self._secret, digest_size=12).hexdigest()

    def new_nonce(self, source: tuple[str, str] | None = None) -> str:
        """A nonce: hex timestamp, a random salt and a MAC of both (and of the bound source)."""
        stamp = f"{int(self._now()):x}.{self._salt()}"
        return f"{stamp}.{self._mac(stamp, self._binding(source))}"

    def _salt(self) -> str:
        """64 random bits (``random_hex16``: one system call per 512 values rather than one each: a
        challenge is sent for every REGISTER). Two nonces of the same second and source are the
        same nonce if their salts are: the second phone's first answer is then a replayed count,
        refused. With 32 bits, thousands of challenges a second from one address (phones behind
        one NAT) met that within minutes (birthday bound: n² / 2³³ a second); with 64, n² / 2⁶⁵:
        at 3,000 a second, about once in 100,000 years."""
        return random_hex16()

    def _nonce_age(self, nonce: str, source: tuple[str, str] | None) -> float | None:
        """Seconds since we issued ``nonce`` to this source; None if not ours or not for it."""
        parts = nonce.split(".")
        if len(parts) != 3 or len(parts[0]) > 12:
            return None
        stamp = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._mac(stamp, self._binding(source)).encode(), parts[2].encode()):
            return None
        try:
            return self._now() - int(parts[0], 16)
        except ValueError:
            return None

    def challenges(self, *, stale: bool = False, source: tuple[str, str] | None = None) -> list[str]:
        """One challenge per algorithm, in ``self.algorithms`` order (RFC 8760 §2.4)."""
        nonce = self.new_nonce(source)
        suffix = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={algorithm}, qop="auth"{suffix}'
            for algorithm in self.algorithms
        ]

    def credentials(self, header_values: list[str]) -> Credentials | None:
        """The Digest credentials for our realm among Authorization values, or None.

        Raises SipParseError for a malformed value (the request is answered 400).
        """
        for value in header_values:
            scheme, params = parse_auth(value)
            if scheme.lower() == "digest" and params.get("realm") == self.realm and "username" in params:
                return Credentials(params["username"], params)
        return None

    async def check(
        self,
        credentials: Credentials,
        password: str | None,
        method: str,
        *,
        request_uri: str,
        source: tuple[str, str] | None = None,
    ) -> Verdict:
        """Check an answer to a request for ``request_uri`` from ``source`` (transport, host).

        ``password`` None (unknown user) costs the same and gives INVALID. A right answer on an
        old nonce, a nonce issued to another address or a count already used gives STALE.
        """
        params = credentials.params
        algorithm = params.get("algorithm", "MD5")
        if algorithm.upper().removesuffix("-SESS") not in _HASHES:
            return Verdict.INVALID
        qop = params.get("qop") or None
        if qop not in (None, "auth"):
            return Verdict.INVALID
        uri = params.get("uri", "")
        nc = params.get("nc")
        if qop is not None:
            if nc is None or len(nc) != 8 or not _is_hex(nc) or not params.get("cnonce"):
                return Verdict.INVALID
            count = int(nc, 16)
            if count == 0:
                return Verdict.INVALID
        else:
            count = SINGLE_USE
        expected = compute_response(
            algorithm=algorithm,
            username=credentials.username,
            realm=self.realm,
            password=password if password is not None else secrets.token_hex(8),
            method=method,
            uri=uri,
            nonce=params.get("nonce", ""),
            qop=qop,
            nc=nc,
            cnonce=params.get("cnonce"),
        )
        # bytes: compare_digest refuses non-ASCII str, and the answer is the client's text
        matches = hmac.compare_digest(expected.encode(), params.get("response", "").lower().encode())
        if password is None or not matches or not same_uri(uri, request_uri):
            return Verdict.INVALID
        nonce = params.get("nonce", "")
        age = self._nonce_age(nonce, source)
        if age is None or not 0 <= age <= self._ttl:
            return Verdict.STALE
        if not await self.counts.advance(nonce, count, self._ttl - age + 1.0):
            return Verdict.STALE
        return Verdict.OK


def same_uri(digest_uri: str, request_uri: str) -> bool:
    """The digest ``uri`` names the Request-URI: the same text, or equal SIP URIs (§19.1.4)."""
    if digest_uri == request_uri:
        return True
    try:
        return uri_equivalent(SipUri.parse(digest_uri), SipUri.parse(request_uri))
    except SipParseError:
        return False


def _is_hex(text: str) -> bool:
    return text.isascii() and all(c in "0123456789abcdefABCDEF" for c in text)
