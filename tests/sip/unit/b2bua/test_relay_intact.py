"""Issue #20 item 9: a request the B2BUA relays between the legs of a call is never mangled.

A NOTIFY keeps its Event, Subscription-State and body, seen on the wire of the other leg. A REFER
is not relayed any more: the B2BUA performs the transfer itself (``test_transfer``), reading the
compact forms of Refer-To and Referred-By as well as the long ones."""

from __future__ import annotations

from nuage.sip.dialogs import Dialog
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.transport import Address
from sip.unit.b2bua.lab import BOB_DESK, BOB_DESK_ONLY, Peer, b2bua_lab
from sip.unit.b2bua.test_calls import answer

REFER_TO = (
    "<sip:carol@nuage.test?Replaces=a84b4c76e66710%40pc33.example.com"
    "%3Bto-tag%3D314159%3Bfrom-tag%3D1928301774>"
)
REFERRED_BY = '"Bob" <sip:bob@nuage.test>;cid="20398823.2UWQFN309shb3@nuage.test"'


def send(peer: Peer, dialog: Dialog, method: str, headers: list[tuple[str, str]], body: bytes = b"") -> None:
    request = dialog.create_request(
        method, transport="UDP", extra=headers, body=body, content_type="message/sipfrag" if body else None
    )
    request.headers.add("contact", f"<sip:peer@{peer.address.host}:{peer.address.port}>")
    peer.send(request, dialog.destination())


async def test_a_notify_reaches_the_other_leg_with_its_event_state_and_sipfrag() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        sipfrag = b"SIP/2.0 100 Trying\r\n"
        headers = [
            ("event", "refer"),
            ("subscription-state", "active;expires=60"),
            ("referred-by", REFERRED_BY),
        ]
        send(lab.carrier, caller, "NOTIFY", headers, sipfrag)
        notify = await desk.request("NOTIFY")
        assert notify.call_id == callee.call_id  # inside the callee's dialog, not the caller's
        assert (notify.headers.get("event"), notify.headers.get("subscription-state")) == (
            "refer",
            "active;expires=60",
        )
        assert notify.headers.get_all("referred-by") == [REFERRED_BY]
        assert (notify.body, notify.headers.get("content-type")) == (sipfrag, "message/sipfrag")
        desk.reply(notify, 200)
        await lab.carrier.response(200, "NOTIFY")


async def test_the_compact_form_of_refer_to_is_read_and_the_refer_not_relayed() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        raw = (
            f"REFER sip:nuage@192.0.2.10:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {lab.carrier.address.host}:5060;branch=z9hG4bKcompact1;rport\r\n"
            f"Max-Forwards: 70\r\nFrom: {caller.local_uri}\r\nTo: {caller.remote_uri}\r\n"
            f"Call-ID: {caller.call_id}\r\nCSeq: 7 REFER\r\n"
            f"Contact: <sip:peer@{lab.carrier.address.host}:5060>\r\n"
            f"r: {REFER_TO}\r\nb: {REFERRED_BY}\r\nContent-Length: 0\r\n\r\n"
        )
        lab.carrier.transport.send(raw.encode(), Address("UDP", "192.0.2.10", 5060))
        refused = await lab.carrier.response(403, "REFER")  # read, and the carrier transfers nothing
        assert "TEN-4" in (refused.headers.get("warning") or "")
        assert not lab.phones[BOB_DESK.device_id].unread("REFER")
