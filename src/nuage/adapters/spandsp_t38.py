"""A fax machine on T.38: a ctypes binding of spandsp's T.38 terminal (T.30 over IFP packets).

Owns ``T38Terminal``, one end of a fax call in T.38 (ITU-T T.38, the IFP packets UDPTL carries): a
receiver writes the pages to a TIFF exactly as the audio ``FaxMachine`` does (same T.30, same
files, same phase E result), a transmitter sends a TIFF's pages. IFP packets from the far end go in
with ``receive_ifp(ifp, seq)`` (spandsp notices gaps in ``seq``); the packets spandsp wants sent come
out through ``send(ifp, copies)``, called from inside spandsp's own calls. spandsp has no clock:
``tick(samples)`` (``t38_terminal_send_timeout``) tells it how much time passed, in 8 kHz samples;
its T.30 timers and the pacing of image data run on it. All calls are short C calls, on the loop.

Bound from Debian's ``libspandsp2`` (0.0.6): ``t38_terminal_init`` with a transmit callback,
``t38_terminal_get_t30_state`` / ``_get_t38_core_state``, ``t38_core_rx_ifp_packet`` (buffer,
length, sequence number), ``t38_terminal_send_timeout``, and the T.38 core's settings (version,
far end's datagram size, fastest rate, transferred TCF).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from pathlib import Path

from nuage.adapters.spandsp import FaxUnavailable, T30Endpoint, library

log = logging.getLogger("nuage.adapters.fax")

_Ptr = ctypes.c_void_p
_TxPacket = ctypes.CFUNCTYPE(
    ctypes.c_int, _Ptr, _Ptr, ctypes.POINTER(ctypes.c_uint8), ctypes.c_int, ctypes.c_int
)
TRANSFERRED_TCF = 2  # T38_DATA_RATE_MANAGEMENT_TRANSFERRED_TCF
_V27TER, _V29, _V17 = 0x01, 0x02, 0x04  # T30_SUPPORT_*
MAX_IFP = 1400

_bound = False


def _t38_library() -> ctypes.CDLL:
    global _bound
    lib = library()
    if _bound:
        return lib
    lib.t38_terminal_init.restype = _Ptr
    lib.t38_terminal_init.argtypes = [_Ptr, ctypes.c_int, _TxPacket, _Ptr]
    lib.t38_terminal_free.argtypes = [_Ptr]
    lib.t38_terminal_get_t30_state.restype = _Ptr
    lib.t38_terminal_get_t30_state.argtypes = [_Ptr]
    lib.t38_terminal_get_t38_core_state.restype = _Ptr
    lib.t38_terminal_get_t38_core_state.argtypes = [_Ptr]
    lib.t38_terminal_send_timeout.restype = ctypes.c_int
    lib.t38_terminal_send_timeout.argtypes = [_Ptr, ctypes.c_int]
    lib.t38_core_rx_ifp_packet.restype = ctypes.c_int
    lib.t38_core_rx_ifp_packet.argtypes = [_Ptr, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint16]
    for setting in (
        "t38_set_t38_version",
        "t38_set_max_datagram_size",
        "t38_set_fastest_image_data_rate",
        "t38_set_data_rate_management_method",
    ):
        getattr(lib, setting).argtypes = [_Ptr, ctypes.c_int]
    lib.t30_set_supported_modems.argtypes = [_Ptr, ctypes.c_int]
    _bound = True
    return lib


def modems_for(max_bit_rate: int) -> int:
    """The T.30 modems a negotiated T38MaxBitRate allows (V.17 from 12000 bit/s, V.29 from 7200)."""
    modems = _V27TER
    if max_bit_rate >= 7200:
        modems |= _V29
    if max_bit_rate >= 12000:
        modems |= _V17
    return modems


class T38Terminal(T30Endpoint):
    """One end of a fax call on T.38 (see the module docstring)."""

    def __init__(
        self,
        send: Callable[[bytes, int], None],
        *,
        receive_to: Path | None = None,
        transmit: Path | None = None,
        ident: str = "",
        version: int = 0,
        max_bit_rate: int = 14400,
        far_max_datagram: int = 400,
    ) -> None:
        if (receive_to is None) == (transmit is None):
            raise ValueError("a T.38 terminal either receives to a file or sends one")
        lib = _t38_library()
        self._send = send
        self._on_packet = _TxPacket(self._packet)  # kept alive as long as the C state
        state = lib.t38_terminal_init(None, 0 if receive_to is not None else 1, self._on_packet, None)
        if not state:
            raise FaxUnavailable("t38_terminal_init failed")
        core = lib.t38_terminal_get_t38_core_state(state)
        lib.t38_set_t38_version(core, version)
        lib.t38_set_max_datagram_size(core, far_max_datagram)
        lib.t38_set_fastest_image_data_rate(core, max_bit_rate)
        lib.t38_set_data_rate_management_method(core, TRANSFERRED_TCF)
        self._core = core
        t30 = lib.t38_terminal_get_t30_state(state)
        lib.t30_set_supported_modems(t30, modems_for(max_bit_rate))
        self._start_t30(lib, state, t30, receive_to=receive_to, send=transmit, ident=ident)

    def _packet(
        self, _core: object, _user: object, buf: ctypes._Pointer[ctypes.c_uint8], length: int, count: int
    ) -> int:
        try:
            if 0 < length <= MAX_IFP:
                self._send(ctypes.string_at(buf, length), count)
        except Exception:  # an exception must not cross back into C
            log.exception("a T.38 packet could not be sent")
        return 0

    def receive_ifp(self, ifp: bytes, seq: int) -> None:
        """One IFP packet from the far end, with the UDPTL sequence number it came with."""
        if self._state is not None and 0 < len(ifp) <= MAX_IFP:
            self._lib.t38_core_rx_ifp_packet(self._core, ifp, len(ifp), seq & 0xFFFF)

    def tick(self, samples: int) -> None:
        """``samples`` (8 kHz) passed: spandsp's timers run, paced packets go out."""
        if self._state is not None and samples > 0:
            self._lib.t38_terminal_send_timeout(self._state, samples)

    def _free(self, state: int) -> None:
        self._lib.t38_terminal_free(state)
