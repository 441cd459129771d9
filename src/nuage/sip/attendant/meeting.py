"""Phones dialling in to a Web Meeting room's sound (MTG-1, BIL-6), as a media application.

A number routed to a meeting room (``meeting:<room id>``) is answered like a conference room's:
the room must be paid (BIL-6: an unpaid room says goodbye at once), the caller keys the room's PIN
(``PIN_TRIES`` tries, prompts in the language of the room's account; a wrong PIN counts as an
authentication failure of the caller's address, SIP-5), then the call's far end, until now the
engine's discard port, becomes the gateway's audio bridge: the phone joins the room as a plain RTP
participant (PCMU or PCMA, whichever the call carries) and the engine relays its RTP both ways.
The phone hears the browsers' mix, the browsers hear the phone. The gateway's side is checked every
``CHECK_S`` while the call lasts (a phone the host removed is hung up) and left when the call ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from nuage.sip.attendant.ports import MeetingBridge, MeetingLeg, MeetingRefused, Sound
from nuage.sip.b2bua.apps import AppCall, HungUp
from nuage.sip.media import MediaError, Side
from nuage.sip.message.sdp import SessionDescription

log = logging.getLogger("nuage.sip.meeting")

PIN_TRIES = 3
PIN_TIMEOUT_S = 10.0
CHECK_S = 5.0  # how often the leg is checked (still in the room; well within Janus's session timeout)
G711 = ("0", "8")  # PCMU, PCMA: what the audio bridge takes from a plain RTP participant


def engine_side(far_end_offer: bytes) -> tuple[str, int, int] | None:
    """Where the engine takes the far end's RTP (address, port) and the G.711 payload type the call
    carries, from the engine's offer to the far end (None: no G.711 in it)."""
    description = SessionDescription.parse(far_end_offer)
    for media in description.media:
        if media.kind != "audio" or media.port == 0:
            continue
        connection = media.connection or description.connection
        chosen = next((f for f in media.formats if f in G711), None)
        if connection is None or chosen is None:
            return None
        return connection.address, media.port, int(chosen)
    return None


def pointed_at(far_end_offer: bytes, host: str, port: int) -> bytes:
    """The far end's answer when the far end is ``host:port``: the engine's offer, its audio there."""
    description = SessionDescription.parse(far_end_offer).with_connection_address(host)
    media = tuple(
        replace(m, port=port) if m.kind == "audio" and m.port != 0 else m for m in description.media
    )
    return replace(description, media=media).to_bytes()


async def bridge(call: AppCall, leg: MeetingLeg) -> None:
    """Send the caller's RTP to the gateway's leg, and the leg's to the caller (the engine relays)."""
    await call.media.rewrite(Side.CALLEE, pointed_at(call.far_end_offer, leg.host, leg.port))


class MeetingDialIn:
    """The meeting application: the payment, the PIN, then the room's sound until the caller leaves."""

    def __init__(self, meetings: MeetingBridge, prompt: Callable[[str, str], Sound]) -> None:
        self.meetings = meetings
        self._sound = prompt  # (language, key): the default prompts, as the conference rooms'

    async def run(self, call: AppCall, room_id: str) -> None:
        """MTG-1: one phone into the room ``room_id`` (returns when the call is to end)."""
        try:
            language = await self.meetings.language(room_id)
        except MeetingRefused as refused:
            log.info("call %s: meeting %s refused (%s): %s", call.call_id, room_id, refused.rule_id, refused)
            await call.play(self._sound("en", "goodbye"), interrupt=False)
            return
        side = engine_side(call.far_end_offer)
        if side is None:
            log.warning("call %s: a meeting takes PCMU or PCMA calls only", call.call_id)
            await call.play(self._sound(language, "goodbye"), interrupt=False)
            return
        host, port, payload_type = side
        account = call.account
        display = (account.caller_id_e164 or account.display_name) if account else None
        display = display or call.call.request.from_addr.uri.user or "phone"
        leg: MeetingLeg | None = None
        for _ in range(PIN_TRIES):
            await call.play(self._sound(language, "conference_pin"))
            entered = await call.collect(12, timeout_s=PIN_TIMEOUT_S)
            try:
                leg = await self.meetings.enter(
                    room_id,
                    entered,
                    display=f"{display} (phone)",
                    rtp_host=host,
                    rtp_port=port,
                    payload_type=payload_type,
                )
                break
            except MeetingRefused as refused:
                log.info("call %s: meeting %s: %s (%s)", call.call_id, room_id, refused, refused.rule_id)
                if not refused.wrong_pin:
                    break
                call.auth_failed()  # SIP-5: a wrong PIN is a failed authentication of the address
                await call.play(self._sound(language, "wrong_pin"), interrupt=False)
        if leg is None:
            await call.play(self._sound(language, "goodbye"), interrupt=False)
            return
        try:
            await bridge(call, leg)
            while True:
                await call.collect(1, timeout_s=CHECK_S, end="")  # keys do nothing in a meeting
                await leg.keepalive()
        except (MeetingRefused, MediaError) as gone:
            log.info("call %s: out of meeting %s: %s", call.call_id, room_id, gone)
            call.hang_up()
        except HungUp:
            pass
        finally:
            await leg.leave()
