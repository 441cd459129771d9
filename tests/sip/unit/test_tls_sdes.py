"""SIP-5: SDES keys (a=crypto) travel only over TLS; the rules of ``nuage.sip.tls_sdes``."""

from __future__ import annotations

import pytest

from nuage.sip.message import SipRequest, parse_message
from nuage.sip.tls_sdes import clear_text, mandates_srtp, offer_for, without_keys

KEY = b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyAoc2luZ2xl"


def _sdp(protocol: str = "RTP/SAVP", *, keys: bool = True) -> bytes:
    lines = [b"v=0", b"o=- 1 1 IN IP4 127.0.0.1", b"s=-", b"c=IN IP4 127.0.0.1", b"t=0 0"]
    lines += [b"m=audio 4000 " + protocol.encode() + b" 0", b"a=rtpmap:0 PCMU/8000"]
    if keys:
        lines += [KEY, KEY.replace(b"a=crypto:1", b"a=crypto:2")]
    lines.append(b"a=sendrecv")
    return b"\r\n".join(lines) + b"\r\n"


def _invite(body: bytes, *, compact: bool = False) -> bytes:
    length = b"l" if compact else b"Content-Length"
    head = [
        b"INVITE sip:bob@127.0.0.1 SIP/2.0",
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKsdes",
        b"From: <sip:alice@nuage.local>;tag=a",
        b"To: <sip:bob@nuage.local>",
        b"Call-ID: sdes",
        b"CSeq: 1 INVITE",
        b"Content-Type: application/sdp",
        length + b": " + str(len(body)).encode(),
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def test_without_keys_removes_only_the_crypto_lines() -> None:
    assert without_keys(_sdp()) == _sdp(keys=False)


@pytest.mark.rule("SIP-5")
@pytest.mark.parametrize("compact", [False, True])
def test_a_message_leaving_in_clear_loses_its_keys_and_keeps_its_framing(compact: bool) -> None:
    sent = clear_text(_invite(_sdp("RTP/AVP"), compact=compact))
    assert b"a=crypto" not in sent
    message = parse_message(sent)
    assert isinstance(message, SipRequest)
    assert message.body == _sdp("RTP/AVP", keys=False)


def test_a_message_without_keys_is_sent_as_it_is() -> None:
    data = _invite(_sdp(keys=False))
    assert clear_text(data) is data


def test_only_rtp_savp_with_keys_mandates_srtp() -> None:
    assert mandates_srtp(_sdp("RTP/SAVP"))
    assert mandates_srtp(_sdp("RTP/SAVPF"))
    assert not mandates_srtp(_sdp("RTP/AVP"))  # best effort: plain RTP is fine without the keys
    assert not mandates_srtp(_sdp("RTP/SAVP", keys=False))


@pytest.mark.rule("SIP-5")
def test_an_offer_with_keys_goes_only_between_tls_legs() -> None:
    savp, avp = _sdp("RTP/SAVP"), _sdp("RTP/AVP")
    # both legs TLS: as it is
    assert offer_for(savp, "TLS", ["TLS"]) == (savp, [True])
    # a mandatory offer is sent to the TLS targets only, refused when there is none
    assert offer_for(savp, "TLS", ["UDP", "TLS"]) == (savp, [False, True])
    assert offer_for(savp, "TLS", ["UDP", "TCP"]) is None
    # keys that came in clear are never passed on: a mandatory offer is refused, best effort loses them
    assert offer_for(savp, "UDP", ["TLS"]) is None
    assert offer_for(avp, "TCP", ["TLS"]) == (_sdp("RTP/AVP", keys=False), [True])
    # best effort from TLS: offered to all (the clear transports drop the keys on the way out)
    assert offer_for(avp, "TLS", ["UDP", "TLS"]) == (avp, [True, True])
    assert offer_for(b"", "UDP", ["UDP"]) == (b"", [True])
