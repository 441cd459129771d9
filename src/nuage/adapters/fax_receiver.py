"""The virtual fax application (CFG-7): a call answered by a spandsp fax machine, its pages as PDF.

Owns ``FaxReceiver``, whose ``answer`` gives the media application (``async def app(call)``) for
a number leading to a virtual fax (``Applications.fax``, a ``FaxDestination``): it answers with a receiving
``FaxMachine`` on the caller's raw audio (T.30 over G.711, the embedded media engine's
``AudioStreamPort``; rtpengine carries no raw audio), waits until T.30
ends, the caller hangs up or ``max_s`` passes, then converts the received TIFF to PDF (in a
thread) and hands a ``FaxCall`` to ``on_fax`` with its ``FaxStatus`` (``fax_status``, CFG-7) and
spandsp's reason. Storing the fax,
e-mailing it and listing it for the API are ``on_fax``'s business.

T.38 (issue #16): the application answers the caller's T.38 offers itself (``OwnOffers``): a
re-INVITE switching the call to ``m=image udptl t38`` (what a fax gateway sends once it hears the
fax tones), or an INVITE offering T.38 only, is accepted with a UDPTL port of the embedded engine
(``T38Leg``); the audio machine then gives way to spandsp's T.38 terminal, which receives into a
TIFF of its own, and the fax goes the same way (PDF, ``on_fax``, the same statuses and reasons).
An offer it cannot take (T.38 over TCP, local TCF, no embedded engine) is refused with 488 and a
Warning; the call goes on as it was. Once on T.38, an offer back to audio (some gateways send one
when the fax is over) is answered through the engine, as the call's first offer was; the fax stays
with the T.38 terminal.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from nuage.adapters.fax_pdf import tiff_to_pdf
from nuage.adapters.fax_t38 import T38Leg
from nuage.adapters.spandsp import FaxMachine, FaxResult
from nuage.directory.fax import FaxStatus, fax_status
from nuage.media.engine import EmbeddedMediaEngine
from nuage.media.t38_sdp import offers_image
from nuage.sip.b2bua.apps import AppCall, MediaApplication, discard_answer
from nuage.sip.media import Side, UnsupportedMedia
from nuage.sip.ports import FaxDestination

log = logging.getLogger("nuage.adapters.fax")

MAX_FAX_S = 30 * 60.0  # a fax call longer than this is cut (a 50-page fax takes about 20 minutes)
NO_AUDIO_REASON = "the media engine carries no raw audio (fax needs the embedded engine)"


@dataclass(frozen=True, slots=True)
class FaxCall:
    """What a fax call left: its status, pages (as one PDF), the reason, who sent it."""

    fax_id: str  # the virtual fax (CFG-7) the number leads to
    account_id: str
    call_id: str
    dialled: str
    status: FaxStatus
    pages: int
    reason: str
    sender: str  # the sending machine's identity (TSI), usually its number; "" if it gave none
    caller: str  # the calling number as presented
    pdf: bytes
    t38: bool = False  # the fax came over T.38 (UDPTL), not over G.711 audio


class _Stream:
    """A fax machine as the media engine's ``AudioStream``."""

    def __init__(self, machine: FaxMachine) -> None:
        self.machine = machine

    def heard(self, pcm: bytes) -> None:
        self.machine.receive_audio(pcm)

    def next_frame(self) -> bytes:
        return self.machine.transmit_audio()


class FaxApp:
    """One fax call's application: audio first, T.38 once the caller offers it (``OwnOffers``)."""

    def __init__(self, receiver: FaxReceiver, destination: FaxDestination) -> None:
        self.receiver = receiver
        self.destination = destination
        self.t38: T38Leg | None = None

    def takes(self, offer: bytes) -> bool:
        return offers_image(offer) or self.t38 is not None

    async def negotiate(self, call: AppCall, offer: bytes) -> bytes:
        if not offers_image(offer):  # back to audio once on T.38 (a gateway may, at the fax's end)
            call.far_end_offer = await call.media.rewrite(Side.CALLER, offer)
            return await call.media.rewrite(Side.CALLEE, discard_answer(call.far_end_offer))
        engine = self.receiver.engine
        if engine is None:
            raise UnsupportedMedia("T.38 needs the embedded media engine")
        leg = self.t38 or T38Leg(engine, self.receiver.scratch(call, "t38"), self.receiver.ident)
        answer = await leg.negotiate(offer)
        self.t38 = leg
        call.rtp_optional = True  # the caller's RTP stops: its fax comes over UDPTL now
        return answer

    async def __call__(self, call: AppCall) -> None:
        await self.receiver.receive(call, self.destination, self)


class FaxReceiver:
    """The fax application: receive into ``directory`` (scratch TIFFs), report to ``on_fax``;
    T.38 needs ``engine`` (the embedded media engine, whose port range UDPTL ports come from)."""

    def __init__(
        self,
        directory: Path,
        on_fax: Callable[[FaxCall], Awaitable[object]],
        *,
        ident: str = "",
        max_s: float = MAX_FAX_S,
        engine: EmbeddedMediaEngine | None = None,
    ) -> None:
        self.directory = directory
        self.on_fax = on_fax
        self.ident = ident
        self.max_s = max_s
        self.engine = engine

    async def answer(self, destination: FaxDestination) -> MediaApplication:
        """The application for a call to ``destination`` (``Applications.fax``)."""
        return FaxApp(self, destination)

    def scratch(self, call: AppCall, suffix: str = "") -> Path:
        """The scratch TIFF of ``call`` (``suffix``: the T.38 terminal's own)."""
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", call.call_id)[:80]
        return self.directory / f"fax-{name}{'-' + suffix if suffix else ''}.tif"

    async def receive(self, call: AppCall, destination: FaxDestination, app: FaxApp | None = None) -> None:
        """Receive the fax of ``call`` and report it (see the module docstring)."""
        app = app or FaxApp(self, destination)
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        tiff = self.scratch(call)
        machine: FaxMachine | None = None
        carried = True
        deadline = asyncio.get_running_loop().time() + self.max_s
        try:
            if app.t38 is None:  # the call was answered on audio
                machine = FaxMachine(receive_to=tiff, ident=self.ident)
                audio = machine
                carried = await call.exchange_audio(
                    _Stream(audio), max_s=self.max_s, done=lambda: audio.finished or app.t38 is not None
                )
            t38 = app.t38
            over_t38 = t38 is not None and not (machine is not None and machine.finished)
            if t38 is not None and over_t38:
                left = deadline - asyncio.get_running_loop().time()
                await call.wait_until(lambda: t38.finished, max_s=max(left, 0.0))
                result: FaxResult = await t38.hang_up()
                pdf, pages = await asyncio.to_thread(tiff_to_pdf, t38.tiff)
            else:
                assert machine is not None
                result = machine.hang_up()
                pdf, pages = await asyncio.to_thread(tiff_to_pdf, tiff)
        finally:
            if machine is not None:
                machine.close()
            if app.t38 is not None:
                await app.t38.close()
                await asyncio.to_thread(app.t38.tiff.unlink, missing_ok=True)
            await asyncio.to_thread(tiff.unlink, missing_ok=True)
        reason = result.reason if carried else NO_AUDIO_REASON
        fax = FaxCall(
            fax_id=destination.fax_id,
            account_id=destination.account_id,
            call_id=call.call_id,
            dialled=call.dialled,
            status=fax_status(result.ok and carried, pages),
            pages=pages,
            reason=reason,
            sender=result.remote_ident,
            caller=call.call.request.from_addr.uri.user or "",
            pdf=pdf,
            t38=over_t38,
        )
        log.info(
            "call %s: fax %s over %s, %d page(s): %s",
            call.call_id, fax.status, "T.38" if over_t38 else "G.711", pages, reason,
        )  # fmt: skip
        await self.on_fax(fax)
