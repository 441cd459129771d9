"""G.711 A-law and mu-law (ITU-T G.711) with numpy lookup tables.

Decoding is one 256-entry table per law; encoding is one 65536-entry table indexed by the 16-bit
linear sample, both built once at import from the standard's segment rules. The conference mixer
uses them wide: ``DECODE_WIDE`` gives the platform's index integers (the mix sums in them), and
``ENCODE_BIASED`` is indexed by sample + ``BIAS``, so ``numpy.take(..., mode="clip")`` encodes a
sum that overflowed 16 bits as the nearest end of the range (saturation in the same look-up).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]

PCMU = 0
PCMA = 8
_BIAS = 0x84
_CLIP = 32635


def _ulaw_encode_scalar(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, _CLIP) + _BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _ulaw_decode_scalar(code: int) -> int:
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + _BIAS) << exponent) - _BIAS
    return -magnitude if code & 0x80 else magnitude


def _alaw_encode_scalar(sample: int) -> int:
    # G.711 A-law works on 13-bit magnitudes; the sign bit set means positive.
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(sample if sample >= 0 else -sample - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


def _alaw_decode_scalar(code: int) -> int:
    code ^= 0x55
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if code & 0x80 else -magnitude


_LINEAR = np.arange(-32768, 32768, dtype=np.int32)
ULAW_DECODE = np.array([_ulaw_decode_scalar(c) for c in range(256)], dtype=np.int16)
ALAW_DECODE = np.array([_alaw_decode_scalar(c) for c in range(256)], dtype=np.int16)
ULAW_ENCODE = np.array([_ulaw_encode_scalar(int(s)) for s in _LINEAR], dtype=np.uint8)
ALAW_ENCODE = np.array([_alaw_encode_scalar(int(s)) for s in _LINEAR], dtype=np.uint8)
# the same tables indexed by the sample's 16 bits read as unsigned (no widening, no offset)
_ENCODE_BITS = {PCMU: np.roll(ULAW_ENCODE, 32768), PCMA: np.roll(ALAW_ENCODE, 32768)}


BIAS = 32768  # ENCODE_BIASED[law][sample + BIAS]
DECODE_WIDE = {PCMU: ULAW_DECODE.astype(np.intp), PCMA: ALAW_DECODE.astype(np.intp)}
ENCODE_BIASED = {PCMU: ULAW_ENCODE, PCMA: ALAW_ENCODE}


def ulaw_encode(pcm: Pcm) -> bytes:
    """16-bit linear samples to mu-law bytes."""
    if pcm.dtype == np.int16:
        return _ENCODE_BITS[PCMU][pcm.view(np.uint16)].tobytes()
    return bytes(ULAW_ENCODE[pcm.astype(np.int32) + 32768])


def ulaw_decode(data: bytes) -> Pcm:
    """Mu-law bytes to 16-bit linear samples."""
    return ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_encode(pcm: Pcm) -> bytes:
    """16-bit linear samples to A-law bytes."""
    if pcm.dtype == np.int16:
        return _ENCODE_BITS[PCMA][pcm.view(np.uint16)].tobytes()
    return bytes(ALAW_ENCODE[pcm.astype(np.int32) + 32768])


def alaw_decode(data: bytes) -> Pcm:
    """A-law bytes to 16-bit linear samples."""
    return ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def encode(payload_type: int, pcm: Pcm) -> bytes:
    """Encode for RTP payload type 0 (PCMU) or 8 (PCMA)."""
    return ulaw_encode(pcm) if payload_type == PCMU else alaw_encode(pcm)


def decode(payload_type: int, data: bytes) -> Pcm:
    """Decode RTP payload type 0 (PCMU) or 8 (PCMA)."""
    return ulaw_decode(data) if payload_type == PCMU else alaw_decode(data)
