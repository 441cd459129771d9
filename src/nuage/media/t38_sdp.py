"""T.38 in SDP (ITU-T T.38 Annex D, RFC 3362): an offer's ``m=image <port> udptl t38`` stream, and
the answer that accepts it.

Owns ``offers_image`` (whether an offer carries an active image stream: a fax switching to T.38),
``accept_t38`` (the far end's T.38 parameters, or why the offer is refused: ``UnsupportedMedia``,
which the SIP side answers 488 with a Warning) and ``t38_answer``. What is accepted: UDPTL (not TCP
or RTP), T38FaxRateManagement transferredTCF (the one UDP allows), any error correction (the far
end's redundancy or FEC is decoded; we send redundancy, or none when it offered none). The answer
names our version (0, at most the offer's), rate (14400 bit/s at most: V.17), buffer and datagram
sizes, and declines every other stream (port 0).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nuage.sip.media import MalformedSdp, UnsupportedMedia
from nuage.sip.message.errors import SipParseError
from nuage.sip.message.sdp import Media, SessionDescription

T38_VERSION = 0
MAX_BIT_RATE = 14400
LOCAL_MAX_BUFFER = 1800
LOCAL_MAX_DATAGRAM = 400
MIN_FAR_DATAGRAM = 32  # a far end announcing less is taken to mean this much
REDUNDANCY = "t38UDPRedundancy"


@dataclass(frozen=True, slots=True)
class T38Params:
    """What the far end offered, as we use it."""

    remote: tuple[str, int]
    version: int
    max_bit_rate: int
    far_max_datagram: int
    redundancy: bool  # we send redundancy (the far end asked for some error correction)


def _parse(sdp: bytes) -> SessionDescription:
    try:
        return SessionDescription.parse(sdp)
    except (SipParseError, UnicodeDecodeError, ValueError) as exc:
        raise MalformedSdp(str(exc)) from exc


def _image(description: SessionDescription) -> tuple[int, Media] | None:
    for index, media in enumerate(description.media):
        if media.kind == "image" and media.port != 0:
            return index, media
    return None


def offers_image(sdp: bytes) -> bool:
    """Whether ``sdp`` offers an active ``m=image`` stream (T.38), whatever its transport."""
    try:
        return _image(SessionDescription.parse(sdp)) is not None
    except (SipParseError, UnicodeDecodeError, ValueError):
        return False


def _attributes(media: Media) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in media.lines:
        if key == "a":
            name, _, rest = value.partition(":")
            found.setdefault(name.strip().lower(), rest.strip())
    return found


def _number(attributes: dict[str, str], name: str, default: int) -> int:
    text = attributes.get(name.lower(), "")
    return int(text) if text.isdigit() and len(text) < 8 else default


def accept_t38(sdp: bytes) -> tuple[T38Params, SessionDescription, int]:
    """The far end's T.38 parameters, the parsed offer and the index of its image stream; raises
    MalformedSdp, or UnsupportedMedia saying what is not supported."""
    description = _parse(sdp)
    found = _image(description)
    if found is None:
        raise UnsupportedMedia("no active image (T.38) stream offered")
    index, media = found
    if media.protocol.lower() != "udptl":
        raise UnsupportedMedia(f"T.38 over {media.protocol} is not supported (UDPTL only)")
    if "t38" not in (f.lower() for f in media.formats):
        raise UnsupportedMedia(f"image format {' '.join(media.formats)} is not supported (t38 only)")
    attributes = _attributes(media)
    management = attributes.get("t38faxratemanagement", "transferredTCF")
    if management.lower() != "transferredtcf":
        raise UnsupportedMedia(f"T38FaxRateManagement {management} is not supported (transferredTCF)")
    connection = media.connection or description.connection
    if connection is None:
        raise MalformedSdp("image stream without c=")
    correction = attributes.get("t38faxudpec", "").lower()
    params = T38Params(
        remote=(connection.address, media.port),
        version=min(_number(attributes, "T38FaxVersion", 0), T38_VERSION),
        max_bit_rate=min(_number(attributes, "T38MaxBitRate", MAX_BIT_RATE), MAX_BIT_RATE),
        far_max_datagram=max(_number(attributes, "T38FaxMaxDatagram", LOCAL_MAX_DATAGRAM), MIN_FAR_DATAGRAM),
        redundancy=correction in ("t38udpredundancy", "t38udpfec"),
    )
    return params, description, index


def t38_answer(offer: SessionDescription, index: int, params: T38Params, address: str, port: int) -> bytes:
    """The answer accepting the image stream at ``address:port`` (every other stream declined)."""
    lines = [
        ("a", f"T38FaxVersion:{params.version}"),
        ("a", f"T38MaxBitRate:{params.max_bit_rate}"),
        ("a", "T38FaxRateManagement:transferredTCF"),
        ("a", f"T38FaxMaxBuffer:{LOCAL_MAX_BUFFER}"),
        ("a", f"T38FaxMaxDatagram:{LOCAL_MAX_DATAGRAM}"),
    ]
    if params.redundancy:
        lines.append(("a", f"T38FaxUdpEC:{REDUNDANCY}"))
    image = Media("image", port, None, "udptl", ("t38",), None, tuple(lines))
    media = tuple(
        image if i == index else dataclasses.replace(m, port=0, lines=(), connection=None)
        for i, m in enumerate(offer.media)
    )
    answer = dataclasses.replace(offer, media=media, lines=())
    return answer.with_connection_address(address).to_bytes()
