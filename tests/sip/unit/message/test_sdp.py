"""SDP offers and answers (RFC 4566)."""

from __future__ import annotations

import pytest

from nuage.sip.message import SipParseError
from nuage.sip.message.sdp import SessionDescription

OFFER = (
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n"
    "m=video 0 RTP/AVP 31\r\n"
)


def test_offer_is_parsed() -> None:
    sdp = SessionDescription.parse(OFFER)
    assert sdp.origin.username == "alice"
    assert sdp.origin.session_version == 2890844526
    assert sdp.connection is not None
    assert sdp.connection.address == "127.0.0.1"
    audio, video = sdp.media
    assert (audio.kind, audio.port, audio.formats) == ("audio", 49170, ("0", "8", "101"))
    assert audio.rtpmap == {"0": "PCMU/8000", "101": "telephone-event/8000"}
    assert audio.direction == "sendrecv"
    assert video.port == 0  # a rejected stream


def test_serialisation_round_trips() -> None:
    sdp = SessionDescription.parse(OFFER)
    assert SessionDescription.parse(sdp.to_bytes()) == sdp
    assert sdp.to_bytes().decode() == OFFER


def test_connection_rewrite_bumps_the_version() -> None:
    sdp = SessionDescription.parse(OFFER).with_connection_address("::1")
    assert sdp.connection is not None
    assert sdp.connection.address_type == "IP6"
    assert sdp.origin.session_version == 2890844527


@pytest.mark.parametrize(
    "broken",
    [
        OFFER.replace("v=0", "v=1"),
        OFFER.replace("o=alice 2890844526 2890844526 IN IP4 127.0.0.1\r\n", ""),
        OFFER.replace("m=audio 49170", "m=audio 99999"),
        OFFER.replace("c=IN IP4 127.0.0.1\r\n", ""),
        "hello",
    ],
)
def test_malformed_sdp_is_refused(broken: str) -> None:
    with pytest.raises(SipParseError):
        SessionDescription.parse(broken)
