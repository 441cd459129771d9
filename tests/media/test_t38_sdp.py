"""T.38 in SDP (T.38 Annex D): what offers are taken, and the answer."""

from __future__ import annotations

import pytest

from nuage.media.t38_sdp import accept_t38, offers_image, t38_answer
from nuage.sip.media import MalformedSdp, UnsupportedMedia
from nuage.sip.message.sdp import SessionDescription


def offer(media: str, *attributes: str, audio: bool = False) -> bytes:
    lines = ["v=0", "o=gw 7 3 IN IP4 192.0.2.9", "s=-", "c=IN IP4 192.0.2.9", "t=0 0"]
    if audio:
        lines += ["m=audio 0 RTP/AVP 0"]
    lines += [f"m=image {media}", *(f"a={a}" for a in attributes)]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_gateways_offer_is_accepted_and_answered_with_our_parameters() -> None:
    sdp = offer(
        "40000 udptl t38",
        "T38FaxVersion:3",
        "T38MaxBitRate:33600",
        "T38FaxRateManagement:transferredTCF",
        "T38FaxMaxDatagram:272",
        "T38FaxUdpEC:t38UDPFEC",
        audio=True,
    )
    assert offers_image(sdp)
    params, description, index = accept_t38(sdp)
    assert (params.remote, params.version, params.max_bit_rate) == (("192.0.2.9", 40000), 0, 14400)
    assert (params.far_max_datagram, params.redundancy, index) == (272, True, 1)
    answer = SessionDescription.parse(t38_answer(description, index, params, "198.51.100.1", 30010))
    audio, image = answer.media
    assert audio.port == 0
    assert (image.kind, image.port, image.protocol, image.formats) == ("image", 30010, "udptl", ("t38",))
    assert answer.connection is not None
    assert answer.connection.address == "198.51.100.1"
    assert image.attributes("T38FaxVersion") == ["0"]
    assert image.attributes("T38MaxBitRate") == ["14400"]
    assert image.attributes("T38FaxRateManagement") == ["transferredTCF"]
    assert image.attributes("T38FaxUdpEC") == ["t38UDPRedundancy"]


def test_an_offer_without_error_correction_gets_none() -> None:
    params, description, index = accept_t38(offer("40000 udptl t38", "T38FaxVersion:0"))
    assert not params.redundancy
    assert b"T38FaxUdpEC" not in t38_answer(description, index, params, "127.0.0.1", 30000)


@pytest.mark.parametrize(
    ("media", "attributes", "why"),
    [
        ("40000 TCP/TPKT/T38 t38", (), "UDPTL only"),
        ("40000 udptl t38", ("T38FaxRateManagement:localTCF",), "transferredTCF"),
        ("40000 udptl jpeg", (), "t38 only"),
        ("0 udptl t38", (), "no active image"),
    ],
)
def test_what_is_not_supported_is_refused_saying_why(
    media: str, attributes: tuple[str, ...], why: str
) -> None:
    with pytest.raises(UnsupportedMedia, match=why):
        accept_t38(offer(media, *attributes))


def test_garbage_is_malformed_and_audio_is_not_an_image_offer() -> None:
    with pytest.raises(MalformedSdp):
        accept_t38(b"hello")
    assert not offers_image(
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n"
    )
    assert not offers_image(b"\xff")
