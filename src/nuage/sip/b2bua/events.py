"""Events the legs and the controller exchange (Sippy's CCEvent*, spelled out and typed)."""

from __future__ import annotations

from dataclasses import dataclass

from nuage.sip.message import SipRequest


@dataclass(frozen=True, slots=True)
class Try:
    """A new call arrived on the caller leg."""

    request: SipRequest


@dataclass(frozen=True, slots=True)
class Ring:
    """The callee is alerting (180) or sends early media (183)."""

    status: int
    reason: str
    body: bytes = b""
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Connect:
    """The callee answered; ``body`` is its SDP answer (or offer, for delayed offer)."""

    body: bytes
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # passed through (Session-Expires, Require...)


@dataclass(frozen=True, slots=True)
class Fail:
    """The attempt failed with a final status; ``warning`` is a Warning header value."""

    status: int
    reason: str
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The leg hung up (BYE), was cancelled, or timed out."""

    reason: str


LegEvent = Try | Ring | Connect | Fail | Disconnect
