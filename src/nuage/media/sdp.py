"""Anchoring an SDP offer or answer: find its audio stream, keep the codecs carried, rewrite it.

Both engines carry PCMU (0), PCMA (8) and telephone-event/8000; an audio stream with none of the
first two is refused with ``UnsupportedMedia`` (the SIP side answers 488), a body that does not
parse with ``MalformedSdp``. Other streams (video...) are declined with port 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nuage.sip.media import MalformedSdp, UnsupportedMedia
from nuage.sip.message.errors import SipParseError
from nuage.sip.message.sdp import Media, SessionDescription

CARRIED = {"PCMU/8000": 0, "PCMA/8000": 8}
_DROPPED_ATTRIBUTES = ("rtcp", "rtcp-mux", "candidate", "ice-ufrag", "ice-pwd", "ice-options", "crypto")


@dataclass(frozen=True, slots=True)
class AudioStream:
    """The audio stream of an offer or answer, reduced to the codecs carried."""

    description: SessionDescription
    index: int
    media: Media
    kept: tuple[str, ...]
    remote: tuple[str, int]
    payload_type: int
    event_type: int | None

    def anchored(self, address: str, port: int) -> bytes:
        """The SDP with media at ``address:port``, only carried codecs, other streams declined."""
        lines = tuple(
            (key, value)
            for key, value in self.media.lines
            if not (key == "a" and value.partition(":")[0] in _DROPPED_ATTRIBUTES)
            and not (
                key == "a"
                and value.partition(":")[0] in ("rtpmap", "fmtp")
                and value.partition(":")[2].split(" ")[0] not in self.kept
            )
        )
        audio = dataclasses.replace(self.media, port=port, formats=self.kept, lines=lines)
        media = tuple(
            audio if i == self.index else dataclasses.replace(m, port=0)
            for i, m in enumerate(self.description.media)
        )
        return dataclasses.replace(self.description, media=media).with_connection_address(address).to_bytes()


def audio_stream(sdp: bytes) -> AudioStream:
    """Parse ``sdp`` and pick its first active audio stream; MalformedSdp or UnsupportedMedia otherwise."""
    try:
        description = SessionDescription.parse(sdp)
    except (SipParseError, UnicodeDecodeError, ValueError) as exc:
        raise MalformedSdp(str(exc)) from exc
    for index, media in enumerate(description.media):
        if media.kind != "audio" or media.port == 0:
            continue
        if not media.protocol.startswith("RTP/AVP"):
            raise UnsupportedMedia(f"media protocol {media.protocol} is not carried")
        kept = _carried(media)
        audio_types = [int(pt) for pt in kept if int(pt) in CARRIED.values()]
        if not audio_types:
            raise UnsupportedMedia("no PCMU or PCMA audio offered")
        connection = media.connection or description.connection
        if connection is None:
            raise MalformedSdp("audio stream without c=")
        events = [int(pt) for pt in kept if media.rtpmap.get(pt, "").upper().startswith("TELEPHONE-EVENT")]
        return AudioStream(
            description,
            index,
            media,
            tuple(kept),
            (connection.address, media.port),
            audio_types[0],
            events[0] if events else None,
        )
    raise UnsupportedMedia("no active audio stream")


def _carried(audio: Media) -> list[str]:
    rtpmap = {pt: encoding.upper() for pt, encoding in audio.rtpmap.items()}
    kept = []
    for pt in audio.formats:
        encoding = rtpmap.get(pt)
        if not pt.isdigit():
            continue
        if (
            encoding is None
            and pt in ("0", "8")
            or encoding is not None
            and (CARRIED.get(encoding) == int(pt) or encoding == "TELEPHONE-EVENT/8000")
        ):
            kept.append(pt)
    return kept
