"""A fax machine that calls: a known multi-page document, and spandsp transmitting it over RTP G.711.

``make_document`` draws distinct bilevel pages into a fax TIFF; ``FaxSender`` drives a transmitting
``FaxMachine`` on an ``AppPhone``'s RTP peer: every 20 ms (loop clock) it feeds what the engine sent
and sends the machine's next frame as PCMU.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from media.app_phone import AppPhone
from nuage.adapters.spandsp import FaxMachine
from nuage.media import g711, rtp
from nuage.media.player import PTIME

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
