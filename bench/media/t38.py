"""T.38 fax cost (issue #16): the CPU one fax takes over UDPTL, and the UDPTL code per datagram.

Two spandsp T.38 terminals in this process, a sender and a receiver, exchange a ``--pages`` fax
(the test suite's kind of page: 1728 pixels wide, fine resolution) through two ``UdptlEndpoint``s
over loopback, with redundancy (3 previous packets) both ways and, with ``--drop-every N``, every
Nth datagram of the sender lost. Reported per fax: wall time (T.30 paces it: the modem speed), the
process's CPU seconds (both ends: each end is about half), datagrams each way, packets rebuilt.
Then the receive path alone (decode + reassembly of a datagram carrying 3 secondaries) in µs per
datagram, the best of ``--repeats`` rounds.

Usage (from the repository root):

    .venv/bin/python bench/media/t38.py [--pages 2] [--drop-every 0] [--repeats 5]

This is a script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from PIL import Image, ImageDraw  # noqa: E402

from nuage.adapters.spandsp_t38 import T38Terminal  # noqa: E402
from nuage.media.udptl import Reassembly, UdptlEndpoint, UdptlPacket  # noqa: E402


def document(path: Path, pages: int) -> None:
    images = []
    for number in range(1, pages + 1):
        page = Image.new("1", (1728, 1200), 1)
        draw = ImageDraw.Draw(page)
        draw.rectangle((100 + 40 * number, 120, 900, 300 + 150 * number), fill=0)
        for row in range(number * 3):
            draw.text((150, 800 + 30 * row), f"page {number} line {row}", fill=0)
        images.append(page)
    images[0].save(path, compression="group4", dpi=(204, 196), save_all=True, append_images=images[1:])


class Lossy(UdptlEndpoint):
    drop_every = 0
    count = 0

    def _transmit(self, datagram: bytes) -> None:
        self.count += 1
        if not self.drop_every or self.count % self.drop_every:
            super()._transmit(datagram)


async def one_fax(workdir: Path, pages: int, drop_every: int) -> dict[str, float]:
    document(workdir / "sent.tif", pages)
    terminals: dict[str, T38Terminal] = {}
    send_end = Lossy(lambda seq, ifp: terminals["tx"].receive_ifp(ifp, seq), redundancy=3)
    send_end.drop_every = drop_every
    receive_end = UdptlEndpoint(lambda seq, ifp: terminals["rx"].receive_ifp(ifp, seq), redundancy=3)
    for endpoint in (send_end, receive_end):
        await endpoint.bind("127.0.0.1", 0)
    send_end.connect(("127.0.0.1", receive_end.port))
    receive_end.connect(("127.0.0.1", send_end.port))
    terminals["tx"] = T38Terminal(send_end.send, transmit=workdir / "sent.tif", ident="bench tx")
    terminals["rx"] = T38Terminal(receive_end.send, receive_to=workdir / "got.tif", ident="bench rx")
    loop = asyncio.get_running_loop()
    started, cpu = loop.time(), time.process_time()
    last, carry = started, 0.0
    while not (terminals["tx"].finished and terminals["rx"].finished) and loop.time() - started < 300:
        await asyncio.sleep(0.02)
        now = loop.time()
        elapsed = (now - last) * 8000 + carry
        last, carry = now, elapsed - int(elapsed)
        for terminal in terminals.values():
            terminal.tick(int(elapsed))
    figures = {
        "wall_s": loop.time() - started,
        "cpu_s": time.process_time() - cpu,
        "pages": float(terminals["rx"].pages),
        "ok": float(bool(terminals["rx"].result and terminals["rx"].result.ok)),
        "sent_datagrams": float(send_end.sent),
        "returned_datagrams": float(receive_end.sent),
        "rebuilt": float(receive_end.reassembly.recovered),
        "lost": float(receive_end.reassembly.lost),
    }
    for terminal in terminals.values():
        terminal.close()
    send_end.close()
    receive_end.close()
    return figures


def receive_path_us(repeats: int, datagrams: int = 20000) -> float:
    def ifp(seq: int) -> bytes:
        return bytes([seq % 256]) * 60  # a V.17 image chunk is about this size

    wire = [
        UdptlPacket(seq & 0xFFFF, ifp(seq), tuple(ifp(s) for s in range(seq - 1, seq - 4, -1))).encode()
        for seq in range(datagrams)
    ]
    best = float("inf")
    for _ in range(repeats):
        rx = Reassembly()
        start = time.perf_counter()
        for datagram in wire:
            rx.feed(UdptlPacket.decode(datagram))
        best = min(best, (time.perf_counter() - start) / datagrams * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--drop-every", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as scratch:
        figures = asyncio.run(one_fax(Path(scratch), args.pages, args.drop_every))
    for name, value in figures.items():
        print(f"{name}: {value:.3f}")
    print(f"receive path (decode + reassembly): {receive_path_us(args.repeats):.2f} µs per datagram")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
