"""A virtual fax's T.38 leg (CFG-7, issue #16): the engine's UDPTL port and spandsp's T.38 terminal.

Owns ``T38Leg``: when the caller offers T.38 (a re-INVITE switching a G.711 fax call to
``m=image udptl t38``, or an INVITE offering only that), ``negotiate`` accepts the offer
(``nuage.media.t38_sdp``), binds a UDPTL port in the embedded engine's range, starts a receiving
``T38Terminal`` into ``tiff`` and returns the SDP answer; a later offer (a refresh, a new address)
keeps the same port and terminal. The terminal's clock is the loop's: every ``TICK_S`` the samples
that passed are handed to spandsp. ``hang_up`` ends the fax (its ``FaxResult``; what UDPTL
received, recovered and lost is logged) and frees the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from nuage.adapters.spandsp import FaxResult
from nuage.adapters.spandsp_t38 import T38Terminal
from nuage.media.engine import EmbeddedMediaEngine
from nuage.media.t38_sdp import accept_t38, t38_answer
from nuage.media.udptl import UdptlEndpoint

TICK_S = 0.02
REDUNDANCY = 3  # previous IFP packets sent again in every datagram (within the far end's size)
SAMPLE_RATE = 8000
MAX_TICK = 10 * SAMPLE_RATE  # a loop stalled longer than this still advances T.30 by 10 s only

log = logging.getLogger("nuage.adapters.fax")


class T38Leg:
    """One fax call's T.38: receive into ``tiff`` through a UDPTL port of ``engine``."""

    def __init__(self, engine: EmbeddedMediaEngine, tiff: Path, ident: str) -> None:
        self.engine = engine
        self.tiff = tiff
        self.ident = ident
        self.endpoint: UdptlEndpoint | None = None
        self.terminal: T38Terminal | None = None
        self._clock: asyncio.Task[None] | None = None

    async def negotiate(self, offer: bytes) -> bytes:
        """Accept ``offer`` (UnsupportedMedia/MalformedSdp: refused) and return the answer."""
        params, description, index = accept_t38(offer)
        endpoint = self.endpoint
        if endpoint is None:
            endpoint = UdptlEndpoint(
                self._received,
                redundancy=REDUNDANCY if params.redundancy else 0,
                far_max_datagram=params.far_max_datagram,
            )
            await self.engine.bind_endpoint(endpoint)
            self.endpoint = endpoint
        endpoint.connect(params.remote, far_max_datagram=params.far_max_datagram)
        if self.terminal is None:
            self.terminal = T38Terminal(
                endpoint.send,
                receive_to=self.tiff,
                ident=self.ident,
                version=params.version,
                max_bit_rate=params.max_bit_rate,
                far_max_datagram=params.far_max_datagram,
            )
            self._clock = asyncio.get_running_loop().create_task(self._run_clock(self.terminal))
        return t38_answer(description, index, params, self.engine.address, endpoint.port)

    def _received(self, seq: int, ifp: bytes) -> None:
        if self.terminal is not None:
            self.terminal.receive_ifp(ifp, seq)

    async def _run_clock(self, terminal: T38Terminal) -> None:
        loop = asyncio.get_running_loop()
        last, carry = loop.time(), 0.0
        while not terminal.finished:
            await asyncio.sleep(TICK_S)
            now = loop.time()
            elapsed = (now - last) * SAMPLE_RATE + carry
            samples = int(elapsed)
            last, carry = now, elapsed - samples
            terminal.tick(min(samples, MAX_TICK))

    @property
    def started(self) -> bool:
        return self.terminal is not None

    @property
    def finished(self) -> bool:
        return self.terminal is not None and self.terminal.finished

    async def hang_up(self) -> FaxResult:
        """End the fax: its result (the call dropped, if T.30 had not finished); the port freed."""
        assert self.terminal is not None
        result = self.terminal.hang_up()
        if self.endpoint is not None:
            rx, received = self.endpoint.reassembly, self.endpoint.received
            log.info(
                "T.38 over UDPTL: %d datagram(s) received, %d IFP packet(s) recovered, %d lost",
                received, rx.recovered, rx.lost,
            )  # fmt: skip
        await self.close()
        return result

    async def close(self) -> None:
        """Stop the clock, free the terminal (closing the TIFF) and the port. Idempotent."""
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
            self._clock = None
        if self.terminal is not None:
            self.terminal.close()
        if self.endpoint is not None:
            self.endpoint.close()
