"""Bearer tokens: HMAC-signed claims, checked without a database round trip (API-1, API-4).

A token is ``v1.<claims>.<signature>``, both parts base64url. Whether the client behind a valid
token was suspended or revoked since, whether the token itself was revoked (RFC 7009), or whether
its user's password changed since (the user's token generation), is asked of
:class:`nuage.api.state.AccessState`, in memory. Anything but a well-formed ASCII token is simply
not a token (401), never an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Literal

PrincipalKind = Literal["client", "user"]


@dataclass(frozen=True)
class Claims:
    """Who a token speaks for: an API client or a portal user, its account and role."""

    subject: str  # client_id or user id
    kind: PrincipalKind
    account_id: str
    account_kind: str  # operator, partner or customer
    role: str  # administrator, supervisor or user
    issued_at: int  # Unix seconds
    expires_at: int
    token_id: str = ""  # unique per token: what a revocation (RFC 7009) names
    generation: int = 0  # users: the token generation at issue; a password change starts the next


def new_token_id() -> str:
    """A token's unique id (128 random bits)."""
    return secrets.token_urlsafe(16)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Signs and verifies tokens with a key derived from the platform's secret key."""

    def __init__(self, secret_key: str, *, memo_size: int = 4096) -> None:
        self._key = hmac.new(secret_key.encode(), b"nuage-api-token-v1", hashlib.sha256).digest()
        self._memo: dict[str, Claims] = {}  # tokens already verified: signature and parsing skipped
        self._memo_size = memo_size

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, claims: Claims) -> str:
        """A token carrying ``claims``."""
        body = {
            "sub": claims.subject,
            "knd": claims.kind,
            "acc": claims.account_id,
            "akd": claims.account_kind,
            "rol": claims.role,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
            "jti": claims.token_id,
            "gen": claims.generation,
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"v1.{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: int) -> Claims | None:
        """The claims of a well-signed, unexpired token, else None."""
        known = self._memo.get(token)
        if known is not None:
            return known if known.expires_at > now else None
        claims = self._verify(token, now)
        if claims is not None:
            if len(self._memo) >= self._memo_size:
                self._memo.clear()
            self._memo[token] = claims
        return claims

    def _verify(self, token: str, now: int) -> Claims | None:
        if len(token) > 2048 or not token.isascii():
            return None
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "v1":
            return None
        _, payload, signature = parts
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            body = json.loads(_unb64(payload))
            claims = Claims(
                subject=str(body["sub"]),
                kind="client" if body["knd"] == "client" else "user",
                account_id=str(body["acc"]),
                account_kind=str(body["akd"]),
                role=str(body["rol"]),
                issued_at=int(body["iat"]),
                expires_at=int(body["exp"]),
                token_id=str(body.get("jti", "")),
                generation=int(body.get("gen", 0)),
            )
        except (ValueError, KeyError, TypeError):
            return None
        return claims if claims.expires_at > now else None
