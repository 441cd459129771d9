"""A fax machine on audio: a small ctypes binding of spandsp's T.30 over the V.17/V.29/V.27ter modems.

Owns ``FaxMachine``, one end of a fax call in audio (16-bit linear samples at 8 kHz, what G.711
decodes to): a receiver writes the pages it receives to a TIFF file (spandsp's own writer, one
bilevel page per directory), a transmitter sends the pages of a TIFF file (bilevel, 1728 pixels
wide, fax resolutions such as 204x98 or 204x196 dpi). Audio goes in with ``receive_audio`` and
comes out with ``transmit_audio``, one 20 ms frame (160 samples) at a time; both are fast C calls
(about 0.05 ms of CPU per 20 ms frame on the development machine), so they run on the event loop.
T.30's phase E (the end of the fax, successful or not) sets ``result``; ``hang_up`` ends a fax the
call dropped (spandsp reports "call dropped prematurely" and keeps the pages already received).

The library is Debian's ``libspandsp2`` (the engine Asterisk and FreeSWITCH use; no headers
needed): opaque state pointers, and ``t30_stats_t``'s first fields, all ``int`` in spandsp 0.0.6,
read from an over-sized buffer. ``T30Endpoint`` is what the audio machine and the T.38 terminal
(``nuage.adapters.spandsp_t38``) share: T.30's files, identity, result and pages.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
T30_ERR_OK = 0
T30_ERR_CALLDROPPED = 49  # spandsp 0.0.6: "The call dropped prematurely"

_LIBRARY = "libspandsp.so.2"
_Ptr = ctypes.c_void_p
_Samples = ctypes.POINTER(ctypes.c_int16)
_PhaseE = ctypes.CFUNCTYPE(None, _Ptr, _Ptr, ctypes.c_int)
_STATS_INTS = 64  # t30_stats_t is 15 ints in 0.0.6; room to spare for a later layout
_PAGES_TX, _PAGES_RX = 2, 3


class FaxUnavailable(RuntimeError):
    """libspandsp is not installed (Debian ``libspandsp2``)."""


_lib: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """libspandsp, loaded once with the signatures of what is bound here (FaxUnavailable if missing)."""
    global _lib
    if _lib is not None:
        return _lib
    try:
        lib = ctypes.CDLL(_LIBRARY)
    except OSError as exc:
        raise FaxUnavailable(f"{_LIBRARY} is missing (install Debian libspandsp2): {exc}") from exc
    lib.fax_init.restype = _Ptr
    lib.fax_init.argtypes = [_Ptr, ctypes.c_int]
    lib.fax_free.argtypes = [_Ptr]
    lib.fax_get_t30_state.restype = _Ptr
    lib.fax_get_t30_state.argtypes = [_Ptr]
    lib.fax_rx.restype = ctypes.c_int
    lib.fax_rx.argtypes = [_Ptr, _Samples, ctypes.c_int]
    lib.fax_tx.restype = ctypes.c_int
    lib.fax_tx.argtypes = [_Ptr, _Samples, ctypes.c_int]
    lib.fax_set_transmit_on_idle.argtypes = [_Ptr, ctypes.c_int]
    lib.t30_set_tx_ident.argtypes = [_Ptr, ctypes.c_char_p]
    lib.t30_get_rx_ident.restype = ctypes.c_char_p
    lib.t30_get_rx_ident.argtypes = [_Ptr]
    lib.t30_set_rx_file.argtypes = [_Ptr, ctypes.c_char_p, ctypes.c_int]
    lib.t30_set_tx_file.argtypes = [_Ptr, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.t30_set_phase_e_handler.argtypes = [_Ptr, _PhaseE, _Ptr]
    lib.t30_get_transfer_statistics.argtypes = [_Ptr, _Ptr]
    lib.t30_terminate.argtypes = [_Ptr]
    lib.t30_completion_code_to_str.restype = ctypes.c_char_p
    lib.t30_completion_code_to_str.argtypes = [ctypes.c_int]
    _lib = lib
    return lib


def library_available() -> None:
    """Load libspandsp now; raise FaxUnavailable if it is missing."""
    library()


@dataclass(frozen=True, slots=True)
class FaxResult:
    """How a fax ended (T.30 phase E): spandsp's completion code and its text, the pages moved."""

    code: int
    reason: str
    pages: int
    remote_ident: str

    @property
    def ok(self) -> bool:
        return self.code == T30_ERR_OK


class T30Endpoint:
    """What a fax machine shares whatever carries it (audio here, T.38 in ``spandsp_t38``): T.30's
    files, identity, phase E result and page count. Not thread-safe: one owner."""

    _state: int | None = None  # the C state (``fax_state_t *``...); None once freed (or never made)
    result: FaxResult | None = None

    def _start_t30(
        self,
        lib: ctypes.CDLL,
        state: int,
        t30: int,
        *,
        receive_to: Path | None,
        send: Path | None,
        ident: str,
    ) -> None:
        self._lib, self._state, self._t30 = lib, state, t30
        self.receiving = receive_to is not None
        if ident:
            lib.t30_set_tx_ident(t30, ident.encode("ascii", "replace")[:20])
        if receive_to is not None:
            lib.t30_set_rx_file(t30, str(receive_to).encode(), -1)
        elif send is not None:
            lib.t30_set_tx_file(t30, str(send).encode(), -1, -1)
        self.result = None
        self._on_phase_e = _PhaseE(self._phase_e)  # kept alive as long as the C state
        lib.t30_set_phase_e_handler(t30, self._on_phase_e, None)

    def _phase_e(self, _t30: object, _user: object, code: int) -> None:
        reason = self._lib.t30_completion_code_to_str(code)
        self.result = FaxResult(
            code=code,
            reason=reason.decode("ascii", "replace") if reason else f"T.30 error {code}",
            pages=self.pages,
            remote_ident=self.remote_ident,
        )

    @property
    def pages(self) -> int:
        """Pages received (receiver) or sent (transmitter) so far, each confirmed by the far end."""
        if self._state is None:
            return self.result.pages if self.result else 0
        stats = (ctypes.c_int * _STATS_INTS)()
        self._lib.t30_get_transfer_statistics(self._t30, stats)
        return int(stats[_PAGES_RX if self.receiving else _PAGES_TX])

    @property
    def remote_ident(self) -> str:
        """The far end's identity (TSI/CSI, usually its number), as it announced it."""
        if self._state is None:
            return self.result.remote_ident if self.result else ""
        ident = self._lib.t30_get_rx_ident(self._t30)
        return ident.decode("ascii", "replace").strip() if ident else ""

    @property
    def finished(self) -> bool:
        return self.result is not None

    def hang_up(self) -> FaxResult:
        """End the fax (the call is over): the result, "call dropped" if T.30 had not finished."""
        if self._state is not None:
            if self.result is None:
                self._lib.t30_terminate(self._t30)  # phase E with the current status
            self.close()
        if self.result is None:  # pragma: no cover - spandsp always reports phase E on terminate
            self.result = FaxResult(T30_ERR_CALLDROPPED, "The call dropped prematurely", 0, "")
        return self.result

    def _free(self, state: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Free the C state (closes the TIFF files). Idempotent."""
        if self._state is not None:
            pages, ident = self.pages, self.remote_ident
            if self.result is not None:
                self.result = FaxResult(self.result.code, self.result.reason, pages, ident)
            state, self._state = self._state, None
            self._free(state)

    def __del__(self) -> None:
        self.close()


class FaxMachine(T30Endpoint):
    """One end of a fax call on audio (see the module docstring)."""

    def __init__(self, *, receive_to: Path | None = None, send: Path | None = None, ident: str = "") -> None:
        if (receive_to is None) == (send is None):
            raise ValueError("a fax machine either receives to a file or sends one")
        lib = library()
        state = lib.fax_init(None, 0 if receive_to is not None else 1)  # the sender is the calling party
        if not state:
            raise FaxUnavailable("fax_init failed")
        lib.fax_set_transmit_on_idle(state, 1)  # silence between bursts: steady 20 ms frames
        self._start_t30(
            lib, state, lib.fax_get_t30_state(state), receive_to=receive_to, send=send, ident=ident
        )
        self._in = (ctypes.c_int16 * FRAME_SAMPLES)()
        self._out = (ctypes.c_int16 * FRAME_SAMPLES)()

    def _free(self, state: int) -> None:
        self._lib.fax_free(state)

    def receive_audio(self, pcm: bytes) -> None:
        """Feed what the far end sent: 16-bit little-endian linear samples at 8 kHz."""
        if self._state is None:
            return
        for start in range(0, len(pcm) - 1, FRAME_SAMPLES * 2):
            chunk = pcm[start : start + FRAME_SAMPLES * 2]
            count = len(chunk) // 2
            ctypes.memmove(self._in, chunk, count * 2)
            self._lib.fax_rx(self._state, self._in, count)

    def transmit_audio(self, samples: int = FRAME_SAMPLES) -> bytes:
        """The next ``samples`` samples to send (16-bit little-endian, 8 kHz); silence when idle."""
        if self._state is None:
            return bytes(samples * 2)
        out = bytearray()
        while len(out) < samples * 2:
            want = min(FRAME_SAMPLES, samples - len(out) // 2)
            made = self._lib.fax_tx(self._state, self._out, want)
            out += bytes(self._out)[: made * 2]
            out += bytes((want - made) * 2)
        return bytes(out)
