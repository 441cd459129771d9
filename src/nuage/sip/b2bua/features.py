"""Feature codes dialled on a phone: CFG-13 hot desk (``*11*<extension>*<PIN>`` in, ``*12`` out).

A feature code is answered by the platform itself, never routed: the call is answered with the
media declined and hung up on the ACK, or refused with a Warning citing the rule.
"""

from __future__ import annotations

from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.services import CallServices, CallSettings
from nuage.sip.message import NameAddr, SipUri
from nuage.sip.ports import Direction, Refusal, SipAccount
from nuage.sip.transactions import ServerTransaction


def is_feature(settings: CallSettings, dialled: str) -> bool:
    """CFG-13: whether ``dialled`` is a hot-desk code rather than a destination."""
    return dialled == settings.hot_desk_logout_code or dialled.startswith(settings.hot_desk_login_code + "*")


async def hot_desk_feature(
    services: CallServices, tx: ServerTransaction, phone: SipAccount, dialled: str
) -> None:
    """CFG-13: ``*11*<extension>*<PIN>`` logs a user in on a shared phone, ``*12`` logs out.

    Success answers the call (media declined: port 0, RFC 3264 §6) naming who is now logged in
    in the answer's P-Asserted-Identity, then hangs up on the ACK; a wrong extension or PIN gets
    403 with a Warning citing CFG-13 (one answer for both). The CDR shows the feature code only,
    never the PIN.
    """
    assert services.hot_desk is not None
    settings = services.settings
    logout = dialled == settings.hot_desk_logout_code
    call = CallController(services, tx, account=phone, direction=Direction.INTERNAL)
    call.shown_callee = settings.hot_desk_logout_code if logout else settings.hot_desk_login_code
    if logout:
        await services.hot_desk.log_out(phone)
        shown = f"Logged out: {phone.display_name}"
    else:
        extension, _, pin = dialled[len(settings.hot_desk_login_code) + 1 :].partition("*")
        user = await services.hot_desk.log_in(phone, extension, pin) if extension and pin else None
        if user is None:
            if services.on_auth_failure is not None:
                services.on_auth_failure(tx.source.host)  # SIP-5: PIN guessing is an auth failure
            call.refuse(
                Refusal("CFG-13", "hot-desk login refused: wrong extension or PIN"), "Hot-Desk Login Refused"
            )
            return
        shown = f"Logged in: {user.display_name}"
    identity = NameAddr(SipUri("sip", settings.domain, user=call.shown_callee), display=shown)
    call.answer_feature(
        declined_media(tx.request.body, settings.domain), (("p-asserted-identity", str(identity)),)
    )


def declined_media(offer: bytes, host: str) -> bytes:
    """An SDP answer declining every stream of ``offer`` (port 0), or a bare session without one."""
    lines = ["v=0", f"o=nuage 0 0 IN IP4 {host}", "s=-", f"c=IN IP4 {host}", "t=0 0"]
    for line in offer.decode("utf-8", "replace").splitlines():
        if line.startswith("m="):
            media, _, rest = line[2:].partition(" ")
            fields = rest.split(" ")
            proto = fields[1] if len(fields) > 1 else "RTP/AVP"
            fmt = fields[2] if len(fields) > 2 else "0"
            lines.append(f"m={media} 0 {proto} {fmt}")
    return ("\r\n".join(lines) + "\r\n").encode()
