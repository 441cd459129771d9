"""A phone that calls a media application: hand-driven SIP (digest, ACK, BYE) and an RTP peer.

``AppPhone.dial`` authenticates, takes the 200's SDP and ACKs it; the peer then sends tones and
RFC 4733 digits to the engine's port and keeps what it hears (``media.peers``).
"""

from __future__ import annotations

import asyncio
import secrets

import numpy as np

from media.peers import Peer, media_port, sdp
from nuage.media import g711, rtp
from nuage.media.player import FRAME, PTIME
from nuage.sip.digest import authorization_header
from nuage.sip.message import SipRequest, SipResponse, make_response
from sip.harness import RawUdpPhone


class AppPhone:
    """alice's phone, calling the application answering ``dialled``."""

    def __init__(self, sip: RawUdpPhone, rtp: Peer, user: str, password: str) -> None:
        self.sip, self.rtp, self.user, self.password = sip, rtp, user, password
        self.call_id = ""
        self.engine_port = 0
        self.ok: SipResponse | None = None
        self.uri = ""

    @classmethod
    async def start(cls, user: str = "alice", password: str = "alice-secret") -> AppPhone:
        return cls(RawUdpPhone(), await Peer.start(), user, password)

    def close(self) -> None:
        self.sip.close()
        self.rtp.close()

    async def dial(self, server_port: int, dialled: str, sdp_offer: bytes | None = None) -> SipResponse:
        """Call ``dialled`` (audio to the RTP peer, or ``sdp_offer``: a fax offering T.38); the final
        response (a 200 is ACKed and its audio port kept)."""
        self.call_id = f"app-{secrets.token_hex(4)}"
        self.uri = uri = f"sip:{dialled}@127.0.0.1:{server_port}"
        offer = (sdp_offer or sdp(self.rtp.port, "1")).decode()
        phone = self.sip
        phone.send(
            phone.request("INVITE", uri, user=self.user, to_user=dialled, call_id=self.call_id, body=offer),
            server_port,
        )
        challenge = await phone.response()
        assert challenge.status == 407, challenge
        phone.send(
            phone.request(
                "ACK",
                uri,
                user=self.user,
                to_user=dialled,
                call_id=self.call_id,
                to_tag=challenge.to_addr.tag,
            ),
            server_port,
        )
        auth = authorization_header(
            challenge.headers.get("proxy-authenticate") or "",
            username=self.user,
            password=self.password,
            method="INVITE",
            uri=uri,
        )
        invite = phone.request(
            "INVITE",
            uri,
            user=self.user,
            to_user=dialled,
            call_id=self.call_id,
            cseq=2,
            headers=[("Proxy-Authorization", auth)],
            body=offer,
        )
        phone.send(invite, server_port)
        final = await phone.response(timeout=30)
        while final.status < 200:
            final = await phone.response(timeout=30)
        if final.status == 200:
            self.ok = final
            self.engine_port = media_port(final.body) if b"m=audio " in final.body else 0
            phone.send(
                phone.request(
                    "ACK",
                    uri,
                    user=self.user,
                    to_user=dialled,
                    call_id=self.call_id,
                    cseq=2,
                    to_tag=final.to_addr.tag,
                ),
                server_port,
            )
        return final

    async def digits(self, keys: str) -> None:
        """Press ``keys`` (RFC 4733 events to the engine)."""
        for key in keys:
            await self.rtp.send_digit(self.engine_port, key)

    async def tone(self, hz: float, ms: int) -> None:
        """Say something: a tone of ``hz`` for ``ms`` to the engine."""
        await self.rtp.send_tone(self.engine_port, hz, ms)

    async def silence(self, ms: int) -> None:
        """Say nothing for ``ms``: silent G.711 frames, as a phone sends between words."""
        loop = asyncio.get_running_loop()
        start, peer = loop.time(), self.rtp
        payload = g711.encode(0, np.zeros(FRAME, dtype=np.int16))
        for n in range(ms // 20):
            peer.send_raw(rtp.build(0, peer.sequence, peer.timestamp, peer.ssrc, payload), self.engine_port)
            peer.sequence = (peer.sequence + 1) & 0xFFFF
            peer.timestamp = (peer.timestamp + FRAME) & 0xFFFFFFFF
            await asyncio.sleep(max(0.0, start + (n + 1) * PTIME - loop.time()))

    async def hang_up(self, server_port: int, cseq: int = 3) -> None:
        """BYE (``cseq``: after a re-INVITE, more than its), and wait for its 200."""
        assert self.ok is not None
        self.sip.send(
            self.sip.request(
                "BYE", self.uri, user=self.user, call_id=self.call_id, cseq=cseq, to_tag=self.ok.to_addr.tag
            ),
            server_port,
        )
        response = await self.sip.response(timeout=30)
        while response.cseq.method != "BYE":  # a late retransmission of the challenge
            response = await self.sip.response(timeout=30)
        assert response.status == 200, response

    async def bye_from_server(self, server_port: int, timeout: float = 30) -> SipRequest:
        """The BYE the application sends when it is done (answered 200)."""
        bye = await self.sip.incoming_request(timeout=timeout)
        assert bye.method == "BYE", bye
        self.sip.send(make_response(bye, 200).to_bytes(), server_port)
        return bye

    def heard_since(self, index: int) -> int:
        """How many packets arrived since ``index`` (for waits)."""
        return len(self.rtp.received) - index
