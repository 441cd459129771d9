"""The SIP message model: URIs, headers, requests and responses, SDP."""

from __future__ import annotations

from nuage.sip.message.auth import parse_auth
from nuage.sip.message.errors import SipParseError
from nuage.sip.message.headers import CSeq, NameAddr, Via
from nuage.sip.message.message import Headers, SipMessage, SipRequest, SipResponse, reason_phrase
from nuage.sip.message.parser import StreamFramer, parse_message
from nuage.sip.message.replies import make_response, response_bytes
from nuage.sip.message.uri import SipUri

__all__ = [
    "CSeq",
    "Headers",
    "NameAddr",
    "SipMessage",
    "SipParseError",
    "SipRequest",
    "SipResponse",
    "SipUri",
    "StreamFramer",
    "Via",
    "make_response",
    "parse_auth",
    "parse_message",
    "reason_phrase",
    "response_bytes",
]
