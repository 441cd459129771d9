"""Responses to a request (RFC 3261 §8.2.6): as a message, or written straight to bytes."""

from __future__ import annotations

from collections.abc import Sequence

from nuage.sip.message.message import SipRequest, SipResponse, header_lines, reason_phrase


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    body: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
) -> SipResponse:
    """§8.2.6: a response copying Via, From, To, Call-ID, CSeq (and Record-Route for dialogs).

    ``headers`` are extra (canonical lower-case name, value) pairs.
    """
    response = SipResponse(status, reason)
    out = response.headers
    for value in request.headers.get_all("via"):
        out.add("via", value)
    out.add("from", request.headers.get("from") or "")
    to_value = request.headers.get("to") or ""
    if to_tag is not None and request.to_tag is None and status > 100:
        to_value = f"{to_value};tag={to_tag}"
    out.add("to", to_value)
    out.add("call-id", request.call_id)
    out.add("cseq", request.headers.get("cseq") or "")
    if 100 < status < 300 and request.method in ("INVITE", "SUBSCRIBE"):
        for value in request.headers.get_all("record-route"):
            out.add("record-route", value)
    for name, value in headers:
        out.add(name, value)
    response.body = body
    return response


def response_bytes(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """``make_response(...).to_bytes()`` of a bodiless response, written without the message
    objects (issue #22): the same lines, in the same order, byte for byte."""
    lines = [f"SIP/2.0 {status} {reason if reason is not None else reason_phrase(status)}"]
    lines.extend(["Via: " + value for value in request.headers.get_all("via")])
    first = request.headers._first
    assert first is not None  # built by get_all
    lines.append("From: " + (first.get("from") or ""))
    to_value = first.get("to") or ""
    if to_tag is not None and status > 100 and request.to_tag is None:
        to_value = f"{to_value};tag={to_tag}"
    lines.append("To: " + to_value)
    lines.append("Call-ID: " + (first.get("call-id") or ""))
    lines.append("CSeq: " + (first.get("cseq") or ""))
    if 100 < status < 300 and request.method in ("INVITE", "SUBSCRIBE") and "record-route" in first:
        lines.extend(["Record-Route: " + value for value in request.headers.get_all("record-route")])
    header_lines(lines, headers)
    lines.append("Content-Length: 0\r\n\r\n")
    return "\r\n".join(lines).encode()
