"""A fax machine that calls: a known multi-page document, and spandsp transmitting it over RTP G.711.

``make_document`` draws distinct bilevel pages into a fax TIFF; ``FaxSender`` drives a transmitting
``FaxMachine`` on an ``AppPhone``'s RTP peer: every 20 ms (loop clock) it feeds what the engine sent
and sends the machine's next frame as PCMU.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from media.app_phone import AppPhone
from netports import free_port
from nuage.adapters.spandsp import FaxMachine
from nuage.adapters.spandsp_t38 import T38Terminal
from nuage.media import g711, rtp
from nuage.media.player import PTIME
from nuage.media.udptl import UdptlEndpoint
from nuage.sip.message import SipResponse

PCMU = 0


def make_document(path: Path, pages: int = 2) -> list[Image.Image]:
    """A fax document: ``pages`` distinct A4-width bilevel pages at fine resolution (204x196 dpi)."""
    images = []
    for number in range(1, pages + 1):
        page = Image.new("1", (1728, 1200), 1)
        draw = ImageDraw.Draw(page)
        draw.rectangle((100 + 40 * number, 120, 900, 300 + 150 * number), fill=0)
        draw.ellipse((1000, 200 * number, 1600, 200 * number + 500), outline=0, width=9)
        for row in range(number * 3):
            draw.text((150, 800 + 30 * row), f"Nuage fax page {number} line {row}", fill=0)
        images.append(page)
    images[0].save(path, compression="group4", dpi=(204, 196), save_all=True, append_images=images[1:])
    return images


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    """The page images of a received PDF, as poppler extracts them."""
    source = tmp_path / "check.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdfimages", "-png", str(source), str(tmp_path / "img")], check=True)
    return [Image.open(png).convert("1") for png in sorted(tmp_path.glob("img-*.png"))]


class FaxSender:
    """spandsp transmitting ``document`` to the engine ``phone`` is in a call with."""

    def __init__(self, phone: AppPhone, document: Path, ident: str) -> None:
        self.phone = phone
        self.machine = FaxMachine(send=document, ident=ident)
        self._seen = 0

    async def run(self) -> None:
        """Send and hear 20 ms frames until cancelled (start it once the call is answered)."""
        loop = asyncio.get_running_loop()
        peer, port = self.phone.rtp, self.phone.engine_port
        start, n = loop.time(), 0
        while True:
            fresh, self._seen = peer.received[self._seen :], len(peer.received)
            for packet in fresh:
                if packet.payload_type == PCMU:
                    heard = g711.decode(PCMU, packet.payload).astype("<i2").tobytes()
                    self.machine.receive_audio(heard)
            frame = np.frombuffer(self.machine.transmit_audio(), dtype="<i2").astype(np.int16)
            payload = g711.encode(PCMU, frame)
            peer.send_raw(rtp.build(PCMU, peer.sequence, peer.timestamp, peer.ssrc, payload), port)
            peer.sequence = (peer.sequence + 1) & 0xFFFF
            peer.timestamp = (peer.timestamp + 160) & 0xFFFFFFFF
            n += 1
            await asyncio.sleep(max(0.0, start + n * PTIME - loop.time()))


# -- T.38 (issue #16): the calling fax machine switches to T.38, as a fax gateway does ------------
def t38_sdp(
    port: int,
    session: str,
    version: int = 1,
    *,
    protocol: str = "udptl",
    management: str = "transferredTCF",
    correction: str = "t38UDPRedundancy",
) -> bytes:
    """An offer of T.38 (T.38 Annex D attributes) at 127.0.0.1:``port``."""
    lines = [
        "v=0",
        f"o=- {session} {version} IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=image {port} {protocol} t38",
        "a=T38FaxVersion:0",
        "a=T38MaxBitRate:14400",
        f"a=T38FaxRateManagement:{management}",
        "a=T38FaxMaxBuffer:2000",
        "a=T38FaxMaxDatagram:400",
        f"a=T38FaxUdpEC:{correction}",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def image_port(body: bytes) -> int:
    """The T.38 port of an SDP answer."""
    for line in body.decode().splitlines():
        if line.startswith("m=image "):
            return int(line.split()[1])
    raise AssertionError(f"no m=image in {body!r}")


async def reinvite(phone: AppPhone, server_port: int, body: bytes, cseq: int = 3) -> SipResponse:
    """A re-INVITE of ``phone``'s call with ``body``; its final response (a 200 is ACKed)."""
    assert phone.ok is not None
    sip, tag = phone.sip, phone.ok.to_addr.tag
    callee = phone.uri.split(":", 1)[1].split("@", 1)[0]

    def request(method: str, text: str = "") -> str:
        return sip.request(
            method, phone.uri, user=phone.user, to_user=callee, call_id=phone.call_id, cseq=cseq, to_tag=tag,
            body=text,
        )  # fmt: skip

    sip.send(request("INVITE", body.decode()), server_port)
    final = await sip.response(timeout=10)
    while final.status < 200 or final.cseq.method != "INVITE" or final.cseq.number != cseq:
        final = await sip.response(timeout=10)
    if final.status == 200:
        sip.send(request("ACK"), server_port)
    return final


class LossyUdptl(UdptlEndpoint):
    """The sender's UDPTL port; every ``drop_every``-th datagram it sends is lost on the way."""

    def __init__(self, on_ifp: Callable[[int, bytes], None], drop_every: int = 0) -> None:
        super().__init__(on_ifp, redundancy=3)
        self.drop_every = drop_every
        self.count = self.dropped = 0

    def _transmit(self, datagram: bytes) -> None:
        self.count += 1
        if self.drop_every and self.count % self.drop_every == 0:
            self.dropped += 1
            return
        super()._transmit(datagram)


class T38Sender:
    """spandsp's T.38 terminal transmitting ``document`` over UDPTL (a fax gateway's side)."""

    def __init__(self, document: Path, ident: str, *, drop_every: int = 0) -> None:
        self.endpoint = LossyUdptl(self._received, drop_every)
        self.terminal = T38Terminal(self.endpoint.send, transmit=document, ident=ident)

    async def open(self) -> int:
        """Bind the UDPTL port (its number, for the offer)."""
        await self.endpoint.bind("127.0.0.1", free_port())
        return self.endpoint.port

    def _received(self, seq: int, ifp: bytes) -> None:
        self.terminal.receive_ifp(ifp, seq)

    async def run(self, remote: tuple[str, int]) -> None:
        """Exchange T.38 with ``remote`` until cancelled: spandsp's clock from the loop's."""
        self.endpoint.connect(remote)
        loop = asyncio.get_running_loop()
        last, carry = loop.time(), 0.0
        while True:
            await asyncio.sleep(PTIME)
            now = loop.time()
            elapsed = (now - last) * 8000 + carry
            last, carry = now, elapsed - int(elapsed)
            self.terminal.tick(int(elapsed))

    def close(self) -> None:
        self.terminal.close()
        self.endpoint.close()
