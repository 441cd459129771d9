"""REFER on the wire (RFC 3515, RFC 3891, RFC 4488): what a Refer-To asks, and the refer subscription.

Owns the reading of a REFER (one Refer-To naming a sip: URI, maybe with an embedded ``Replaces``
naming another dialog, bounded at the edge), the matching of a ``Replaces`` against a leg's dialog
(either tag order: the B2BUA's legs see the dialog from the side of Nuage), and the implicit
subscription a REFER creates: NOTIFYs carrying a ``message/sipfrag`` status line (100 Trying, 180
Ringing, then the final one, which terminates the subscription). ``Refer-Sub: false`` (RFC 4488)
asks for no NOTIFY at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from nuage.sip.b2bua.legs import Leg, ignore_response
from nuage.sip.b2bua.states import LegState
from nuage.sip.message import NameAddr, SipParseError, SipRequest, SipUri, reason_phrase

MAX_REFER_TO = 1024  # characters: a Refer-To longer than this is refused as malformed
MAX_TARGET = 64  # the user part dialled through a transfer (an extension, a number)


class MalformedRefer(ValueError):
    """The REFER cannot be acted on as written (400)."""


@dataclass(frozen=True, slots=True)
class Replaces:
    """RFC 3891: the dialog an attended transfer replaces, named by Call-ID and its two tags."""

    call_id: str
    to_tag: str
    from_tag: str

    @classmethod
    def parse(cls, text: str) -> Replaces:
        """``call-id;to-tag=..;from-tag=..`` (MalformedRefer when a part is missing)."""
        call_id, *params = (part.strip() for part in text.split(";"))
        tags = {}
        for param in params:
            name, _, value = param.partition("=")
            tags[name.strip().lower()] = value.strip()
        to_tag, from_tag = tags.get("to-tag"), tags.get("from-tag")
        if not call_id or not to_tag or not from_tag:
            raise MalformedRefer("Replaces needs a Call-ID, a to-tag and a from-tag")
        return cls(call_id, to_tag, from_tag)

    def names(self, leg: Leg) -> bool:
        """Whether this names ``leg``'s dialog (its Call-ID and its two tags, in either order)."""
        dialog = leg.dialog
        if dialog is None or dialog.call_id != self.call_id:
            return False
        return {dialog.local_tag, dialog.remote_tag} == {self.to_tag, self.from_tag}


@dataclass(frozen=True, slots=True)
class ReferTo:
    """What a REFER asks: call ``target`` (a user part of ``host``), or join a known dialog."""

    uri: SipUri
    replaces: Replaces | None

    @property
    def target(self) -> str:
        """The user part dialled (an extension, a user name or a number)."""
        return self.uri.user or ""


def refer_to(request: SipRequest) -> ReferTo:
    """The one Refer-To of ``request`` (MalformedRefer: none, several, too long, not sip/sips, no user)."""
    values = request.headers.get_all("refer-to")
    if len(values) != 1:
        raise MalformedRefer("a REFER carries exactly one Refer-To")
    text = values[0]
    if len(text) > MAX_REFER_TO:
        raise MalformedRefer("Refer-To too long")
    try:
        uri = NameAddr.parse(text).uri
    except SipParseError as exc:
        raise MalformedRefer(f"Refer-To: {exc}") from exc
    if uri.scheme not in ("sip", "sips") or not uri.user or len(uri.user) > MAX_TARGET:
        raise MalformedRefer("Refer-To must be a sip: URI naming a user")
    method = (uri.param("method") or "INVITE").upper()
    if method != "INVITE":
        raise MalformedRefer(f"Refer-To method {method} is not supported")
    replaces = next((value for name, value in uri.headers if name.lower() == "replaces"), None)
    return ReferTo(uri, Replaces.parse(replaces) if replaces is not None else None)


def replaces_header(request: SipRequest) -> Replaces | None:
    """The Replaces header of an INVITE (RFC 3891 §6.1), None without one (MalformedRefer if bad)."""
    values = request.headers.get_all("replaces")
    if not values:
        return None
    if len(values) > 1 or len(values[0]) > MAX_REFER_TO:
        raise MalformedRefer("one Replaces header")
    return Replaces.parse(values[0])


class ReferSubscription:
    """The implicit subscription of one REFER: NOTIFYs with the transfer's progress to the transferor.

    ``wanted`` is False for ``Refer-Sub: false`` (RFC 4488): nothing is sent then. Once the
    transferor's leg is gone (it hung up) nothing is sent either.
    """

    def __init__(self, leg: Leg, refer: SipRequest, expires_s: int = 60) -> None:
        self.leg = leg
        self.wanted = (refer.headers.get("refer-sub") or "true").strip().lower() != "false"
        self.event = "refer" if refer.cseq.number == 1 else f"refer;id={refer.cseq.number}"
        self.expires_s = expires_s
        self.done = False
        self.sent: list[int] = []  # the statuses reported, in order (for the logs and the tests)

    def progress(self, status: int, reason: str | None = None) -> None:
        """Report ``status`` (provisional: the subscription stays active; final: it terminates)."""
        if self.done or not self.wanted or self.leg.state is not LegState.CONNECTED:
            return
        final = status >= 200
        self.done = final
        self.sent.append(status)
        state = "terminated;reason=noresource" if final else f"active;expires={self.expires_s}"
        body = f"SIP/2.0 {status} {reason or reason_phrase(status)}\r\n".encode()
        self.leg.send_in_dialog(
            "NOTIFY",
            ignore_response,
            body=body,
            content_type="message/sipfrag;version=2.0",
            extra=[("event", self.event), ("subscription-state", state)],
        )
