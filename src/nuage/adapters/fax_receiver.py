"""The virtual fax application (CFG-7): a call answered by a spandsp fax machine, its pages as PDF.

Owns ``FaxReceiver``, whose ``answer`` gives the media application (``async def app(call)``) for
a number leading to a virtual fax (``Applications.fax``, a ``FaxDestination``): it answers with a receiving
``FaxMachine`` on the caller's raw audio (T.30 over G.711, the embedded media engine's
``AudioStreamPort``; rtpengine carries no raw audio, T.38 is not supported), waits until T.30
ends, the caller hangs up or ``max_s`` passes, then converts the received TIFF to PDF (in a
thread) and hands a ``FaxCall`` to ``on_fax`` with its ``FaxStatus`` (``fax_status``, CFG-7) and
spandsp's reason. Storing the fax,
e-mailing it and listing it for the API are ``on_fax``'s business.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from nuage.adapters.fax_pdf import tiff_to_pdf
from nuage.adapters.spandsp import FaxMachine
from nuage.directory.fax import FaxStatus, fax_status
from nuage.sip.b2bua.apps import AppCall, MediaApplication
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


class _Stream:
    """A fax machine as the media engine's ``AudioStream``."""

    def __init__(self, machine: FaxMachine) -> None:
        self.machine = machine

    def heard(self, pcm: bytes) -> None:
        self.machine.receive_audio(pcm)

    def next_frame(self) -> bytes:
        return self.machine.transmit_audio()


class FaxReceiver:
    """The fax application: receive into ``directory`` (scratch TIFFs), report to ``on_fax``."""

    def __init__(
        self,
        directory: Path,
        on_fax: Callable[[FaxCall], Awaitable[object]],
        *,
        ident: str = "",
        max_s: float = MAX_FAX_S,
    ) -> None:
        self.directory = directory
        self.on_fax = on_fax
        self.ident = ident
        self.max_s = max_s

    async def answer(self, destination: FaxDestination) -> MediaApplication:
        """The application for a call to ``destination`` (``Applications.fax``)."""

        async def receive(call: AppCall) -> None:
            await self.receive(call, destination)

        return receive

    async def receive(self, call: AppCall, destination: FaxDestination) -> None:
        """Receive the fax of ``call`` and report it (see the module docstring)."""
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        tiff = self.directory / f"fax-{re.sub(r'[^A-Za-z0-9_.-]', '_', call.call_id)[:80]}.tif"
        machine = FaxMachine(receive_to=tiff, ident=self.ident)
        try:
            carried = await call.exchange_audio(
                _Stream(machine), max_s=self.max_s, done=lambda: machine.finished
            )
            result = machine.hang_up()
            pdf, pages = await asyncio.to_thread(tiff_to_pdf, tiff)
        finally:
            machine.close()
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
        )
        log.info("call %s: fax %s, %d page(s): %s", call.call_id, fax.status, pages, reason)
        await self.on_fax(fax)
