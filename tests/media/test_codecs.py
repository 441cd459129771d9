"""The media building blocks on their own: RTP, G.711, RFC 4733, RTCP and the E-model, the jitter
buffer, SDP anchoring, bencode."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.peers import sdp
from nuage.adapters.bencode import BencodeError, bdecode, bencode
from nuage.media import dtmf, g711, rtcp, rtp
from nuage.media.jitter import JitterBuffer
from nuage.media.sdp import audio_stream
from nuage.sip.media import MalformedSdp, UnsupportedMedia


def test_rtp_round_trip_and_wrapping_fields() -> None:
    data = rtp.build(8, 70000, 2**32 + 5, 0x1234, b"\xd5" * 160, marker=True)
    packet = rtp.parse(data)
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc) == (
        8,
        70000 - 65536,
        5,
        0x1234,
    )
    assert packet.marker
    assert packet.payload == b"\xd5" * 160
    assert packet.to_bytes() == data


def test_rtp_skips_csrcs_and_extension_and_strips_padding() -> None:
    header = bytes([0x80 | 0x20 | 0x10 | 0x01, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3])
    csrc = b"\x00\x00\x00\x09"
    extension = b"\xbe\xde\x00\x01" + b"\x01\x02\x03\x04"
    data = header + csrc + extension + b"abcd" + b"\x00\x00\x03"
    assert rtp.parse(data).payload == b"abcd"


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x80\x00\x00",  # shorter than the header
        b"\x40" + bytes(11),  # version 1
        bytes([0x8F]) + bytes(11),  # 15 CSRCs announced, none there
        bytes([0x90]) + bytes(11) + b"\x00\x00\x00\x10",  # extension longer than the datagram
        bytes([0xA0]) + bytes(11) + b"\x00",  # padding of zero
        bytes([0xA0]) + bytes(11) + b"\x40",  # padding longer than the packet
        b"\x80" + bytes(1600),  # larger than any datagram we accept
    ],
)
def test_rtp_rejects_garbage(garbage: bytes) -> None:
    with pytest.raises(rtp.RtpError):
        rtp.parse(garbage)


@given(st.binary(max_size=64))
def test_rtp_parse_never_fails_otherwise(data: bytes) -> None:
    with contextlib.suppress(rtp.RtpError):
        rtp.parse(data)


def test_g711_reference_values() -> None:
    # ITU-T G.711: mu-law 0x00/0x80 are the extremes and 0xFF/0x7F the zeros, A-law 0xD5/0x55 are +8/-8.
    assert g711.ulaw_decode(bytes([0x00, 0x80, 0xFF, 0x7F, 0x0F])).tolist() == [-32124, 32124, 0, 0, -16764]
    assert g711.alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A, 0x80])).tolist() == [8, -8, 32256, -32256, 5504]
    samples = np.array([0, -1, 1000, -1000, 32767, -32768], dtype=np.int16)
    assert list(g711.ulaw_encode(samples)) == [0xFF, 0x7F, 0xCE, 0x4E, 0x80, 0x00]
    assert list(g711.alaw_encode(samples)) == [0xD5, 0x55, 0xFA, 0x7A, 0xAA, 0x2A]


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_every_code_survives_a_round_trip_and_error_is_bounded(law: str) -> None:
    encode, decode = (
        (g711.ulaw_encode, g711.ulaw_decode) if law == "ulaw" else (g711.alaw_encode, g711.alaw_decode)
    )
    codes = bytes(range(256))
    again = encode(decode(codes))
    if law == "ulaw":  # 0x7F (negative zero) decodes to 0, which encodes as 0xFF
        assert again == codes.replace(b"\x7f", b"\xff")
    else:
        assert again == codes
    linear = np.arange(-32768, 32768, 7, dtype=np.int16)
    error = np.abs(decode(encode(linear)).astype(np.int32) - linear)
    assert (error <= np.maximum(16, np.abs(linear.astype(np.int32)) // 16)).all()


def test_dtmf_digit_is_a_train_with_the_end_packet_three_times() -> None:
    payloads = dtmf.digit_payloads("#", 100)
    events = [dtmf.parse_event(p) for _, p in payloads]
    assert [m for m, _ in payloads] == [True, False, False, False, False, False, False]
    assert {e.event for e in events} == {11}
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    with pytest.raises(dtmf.DtmfError):
        dtmf.digit_payloads("x", 100)


def test_dtmf_detector_reports_once_per_event() -> None:
    detector = dtmf.DtmfDetector()
    found = [detector.feed(1000, p) for _, p in dtmf.digit_payloads("9", 160)]
    found += [detector.feed(1000, p) for _, p in dtmf.digit_payloads("9", 160)]  # retransmitted
    found += [detector.feed(3000, p) for _, p in dtmf.digit_payloads("9", 160)]  # pressed again
    assert [f for f in found if f] == [("9", 160), ("9", 160)]
    with pytest.raises(dtmf.DtmfError):
        detector.feed(1, b"\x01")


def test_rtcp_sr_and_rr_round_trip() -> None:
    block = rtcp.ReportBlock(0xAB, 25, -3, 70000, 42, 0x11223344, 65536)
    report = rtcp.Report(
        rtcp.SR, 7, (block,), ntp=(5 << 32) | 9, rtp_timestamp=160, packets_sent=3, octets_sent=480
    )
    assert rtcp.parse(rtcp.build(report)) == report
    rr = rtcp.Report(rtcp.RR, 8, ())
    assert rtcp.parse(rtcp.build(rr)) == rr
    with pytest.raises(rtcp.RtcpError):
        rtcp.parse(rtcp.build(report)[:-4])
    with pytest.raises(rtcp.RtcpError):
        rtcp.parse(b"\x80\xc8\x00")


def test_receive_stats_count_loss_across_the_sequence_wrap_and_jitter() -> None:
    stats = rtcp.ReceiveStats()
    sequence = 65530
    for n in range(20):
        if n not in (3, 11):
            # every packet 20 ms apart on the RTP clock, but arrivals alternate 15 / 25 ms
            stats.update((sequence + n) & 0xFFFF, n * 160, n * 0.02 + (0.005 if n % 2 else 0.0))
    assert stats.received == 18
    assert stats.expected == 20
    assert stats.lost == 2
    assert stats.extended_highest == 65536 + (65530 + 19 - 65536)
    assert 2.0 < stats.jitter_ms < 5.0
    block = stats.report_block(1)
    assert block.cumulative_lost == 2
    assert block.fraction_lost == 2 * 256 // 20


def test_e_model_figures() -> None:
    r, mos = rtcp.e_model(0.0, 0.0)
    assert 92 < r < 93.2
    assert 4.3 < mos <= 4.5
    r_lossy, mos_lossy = rtcp.e_model(0.05, 20.0)
    assert r_lossy < 80
    assert mos_lossy < 4.0
    r_bad, mos_bad = rtcp.e_model(0.5, 100.0, 300.0)
    assert r_bad < 30
    assert mos_bad < 1.7


def test_jitter_buffer_orders_fills_gaps_and_drops_late_frames() -> None:
    buffer = JitterBuffer(depth=320)
    frame = {n: np.full(160, n + 1, dtype=np.int16) for n in range(6)}
    for n in (0, 2, 1, 4, 5):  # 1 is reordered, 3 never comes
        buffer.push(1000 + n * 160, frame[n])
    out = buffer.pop()
    assert out.tolist() == [1] * 160 + [2] * 160 + [3] * 160 + [0] * 160
    buffer.push(1000 + 3 * 160, frame[3])  # too late now
    assert buffer.late == 1
    assert buffer.pop(flush=True).tolist() == [5] * 160 + [6] * 160


def test_sdp_anchoring_keeps_carried_codecs_only() -> None:
    offer = sdp(4000, "1", formats="18 8 101").replace(b"a=sendrecv", b"a=rtcp:4001\r\na=sendrecv")
    stream = audio_stream(offer)
    assert stream.kept == ("8", "101")
    assert stream.payload_type == 8
    assert stream.event_type == 101
    assert stream.remote == ("127.0.0.1", 4000)
    rewritten = stream.anchored("10.0.0.1", 30000).decode()
    assert "m=audio 30000 RTP/AVP 8 101" in rewritten
    assert "c=IN IP4 10.0.0.1" in rewritten
    assert "G729" not in rewritten
    assert "a=rtcp:" not in rewritten
    with pytest.raises(UnsupportedMedia):
        audio_stream(sdp(4000, "1", formats="18"))
    with pytest.raises(MalformedSdp):
        audio_stream(b"v=0\r\nm=audio x RTP/AVP 0\r\n")


def test_bencode_round_trip_and_bad_input() -> None:
    value = {"command": "offer", "flags": ["strict source", "inject DTMF"], "n": -5, "raw": b"\xff\x00"}
    assert (
        bencode(value) == b"d7:command5:offer5:flagsl13:strict source11:inject DTMFe1:ni-5e3:raw2:\xff\x00e"
    )
    assert bdecode(bencode(value)) == value
    for bad in (b"i12", b"5:ab", b"l1:a", b"d1:ae", b"x", b"i1ei2e", b"di1ei2ee"):
        with pytest.raises(BencodeError):
            bdecode(bad)
