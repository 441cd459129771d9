"""SIP-5: SDES-SRTP keys (RFC 4568 ``a=crypto``) travel only over TLS.

SDES puts the SRTP master keys in the SDP, so anyone who reads the signalling can decrypt the
media: the keys are worth something only on a signalling path encrypted hop by hop. Two places
apply it:

- the B2BUA, when it places a call (``offer_for``): keys that came in clear are not passed on,
  an offer that mandates SRTP (``RTP/SAVP``) is sent only to targets reached over TLS, and is
  refused with 488 and a Warning citing SIP-5 when there is none, or when its keys came in clear;
- every clear-text transport (UDP, TCP), as the last guard (``clear_text``): a SIP message about
  to leave with ``a=crypto`` lines leaves without them (its Content-Length adjusted).
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("nuage.sip.transport")

RULE = "SIP-5"
SECURE_TRANSPORTS = frozenset({"TLS"})
REFUSAL_REASON = "SRTP keys (SDES) are exchanged only over TLS"
_KEY_LINE = re.compile(rb"^a=crypto:[^\r\n]*(?:\r\n|\n|$)", re.MULTILINE)
_CONTENT_LENGTH = re.compile(rb"^(content-length|l)[ \t]*:[ \t]*\d+[ \t]*$", re.IGNORECASE | re.MULTILINE)
_MANDATORY = frozenset({"RTP/SAVP", "RTP/SAVPF"})  # SDES with mandatory SRTP (UDP/TLS/...: DTLS)


def is_secure(transport: str) -> bool:
    """Whether signalling on ``transport`` is encrypted (TLS)."""
    return transport.upper() in SECURE_TRANSPORTS


def has_keys(sdp: bytes) -> bool:
    """Whether a body carries SDES keys (an ``a=crypto`` line)."""
    return b"a=crypto:" in sdp


def without_keys(sdp: bytes) -> bytes:
    """The body without its ``a=crypto`` lines, every other byte as it was."""
    return _KEY_LINE.sub(b"", sdp)


def mandates_srtp(sdp: bytes) -> bool:
    """Whether a media section of the offer is ``RTP/SAVP(F)`` with SDES keys: SRTP or nothing."""
    text = sdp.decode("utf-8", "replace")
    sections = re.split(r"(?m)^m=", text)[1:]
    for section in sections:
        fields = section.split(None, 3)
        if len(fields) >= 3 and fields[2].upper() in _MANDATORY and "a=crypto:" in section:
            return True
    return False


def offer_for(
    sdp: bytes, caller_transport: str, target_transports: list[str]
) -> tuple[bytes, list[bool]] | None:
    """The offer the callee leg sends, and which targets may have it; None: refuse with 488.

    Keys that came over a clear transport are dropped (they are known to any eavesdropper). An
    offer that mandates SRTP goes only to targets over TLS; without such targets, or when its keys
    came in clear, it is refused. Keys still in the offer are dropped towards a clear target by
    the transport itself (``clear_text``).
    """
    allowed = [True] * len(target_transports)
    if not has_keys(sdp):
        return sdp, allowed
    mandatory = mandates_srtp(sdp)
    if not is_secure(caller_transport):
        return None if mandatory else (without_keys(sdp), allowed)
    if mandatory:
        allowed = [is_secure(transport) for transport in target_transports]
        if not any(allowed):
            return None
    return sdp, allowed


def clear_text(data: bytes) -> bytes:
    """A SIP message as it may leave on a clear transport: without SDES keys (SIP-5)."""
    if b"a=crypto:" not in data:
        return data
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator or not has_keys(body):
        return data
    body = without_keys(body)
    head = _CONTENT_LENGTH.sub(lambda match: match.group(1) + b": " + str(len(body)).encode(), head)
    log.info("SDES keys removed from a message sent in clear (%s)", RULE)
    return head + separator + body
