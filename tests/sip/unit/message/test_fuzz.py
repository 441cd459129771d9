"""Hypothesis fuzzing: the parser only ever returns a message or raises SipParseError."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nuage.sip.message import SipParseError, parse_message
from nuage.sip.message.parser import StreamFramer
from nuage.sip.message.sdp import SessionDescription

VALID = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;rport\r\n"
    b"From: <sip:alice@example.com>;tag=1928\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.1:5070>\r\n"
    b"Content-Length: 0\r\n\r\n"
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_everything(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError:
        return
    # a message that parsed must serialise and its lazy views must not crash unexpectedly
    message.to_bytes()
    for view in ("contacts",):
        with contextlib.suppress(SipParseError):
            getattr(message, view)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_never_crash_the_parser(data: bytes) -> None:
    _parse_everything(data)


@FUZZ
@given(st.integers(0, len(VALID) - 1), st.binary(min_size=1, max_size=8))
def test_mutated_valid_messages_never_crash_the_parser(position: int, patch: bytes) -> None:
    _parse_everything(VALID[:position] + patch + VALID[position + len(patch) :])


@FUZZ
@given(st.lists(st.sampled_from(VALID.split(b"\r\n")), max_size=12))
def test_shuffled_header_lines_never_crash_the_parser(lines: list[bytes]) -> None:
    _parse_everything(b"\r\n".join(lines) + b"\r\n\r\n")


@FUZZ
@given(st.binary(max_size=300))
def test_stream_framer_never_crashes(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        StreamFramer().feed(data)


@FUZZ
@given(st.text(max_size=300))
def test_sdp_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(SipParseError):
        SessionDescription.parse(text)
