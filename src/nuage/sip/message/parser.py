"""Reading SIP messages off the wire (RFC 3261 §7, §18.3): one datagram, or a TCP stream framed.

The parser reads the start line and splits header lines eagerly, but parses only the headers
every message needs (Via, From, To, Call-ID, CSeq, Content-Length); the others are parsed when
asked for. It is strict where RFC 3261 is (start line, version, mandatory headers, CSeq method,
Content-Length of a datagram) and lenient where it says to be (compact forms, any header-name
case, line folding, bare LF line ends, leading blank lines). Every size and number is bounded.
"""

from __future__ import annotations

import re

from nuage.sip.message.errors import SipParseError
from nuage.sip.message.headers import COMPACT_FORMS, display_name, parse_number
from nuage.sip.message.message import MAX_EXPIRES, MAX_MESSAGE_BYTES, Headers, SipRequest, SipResponse

_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_METHODS = frozenset(("REGISTER", "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "SUBSCRIBE", "NOTIFY",
                      "REFER", "UPDATE", "INFO", "PRACK", "MESSAGE", "PUBLISH"))  # fmt: skip
_KNOWN_NAMES: dict[str, str] = {}  # header name as written -> canonical key (bounded cache)


def parse_message(data: bytes, *, datagram: bool = True) -> SipRequest | SipResponse:
    """Parse one message. ``datagram``: the body is the rest of the packet, checked against
    Content-Length (RFC 3261 §18.3); otherwise the caller has framed it by Content-Length."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError("Message Too Large")
    if data[:1] in (b"\r", b"\n"):
        data = data.lstrip(b"\r\n")  # RFC 3261 §7.5: ignore blank lines before the start line
    sep = data.find(b"\r\n\r\n")
    if sep >= 0:
        head_bytes, body = data[:sep], data[sep + 4 :]
    else:
        sep = data.find(b"\n\n")
        if sep < 0:
            head_bytes, body = data, b""
        else:
            head_bytes, body = data[:sep], data[sep + 2 :]
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("header section is not UTF-8") from exc
    lines = head.split("\r\n")
    if head.count("\n") != len(lines) - 1:  # a bare LF ends some line too (tolerated, §7)
        lines = head.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        del lines[0]
    if not lines:
        raise SipParseError("empty message")
    start = lines[0]
    message: SipRequest | SipResponse
    if start.startswith("SIP/"):
        parts = start.split(" ", 2)
        if parts[0] != "SIP/2.0":
            raise SipParseError("Version Not Supported")
        if len(parts) < 2 or len(parts[1]) != 3 or not parts[1].isdigit():
            raise SipParseError("bad status line")
        status = int(parts[1])
        if not 100 <= status <= 699:
            raise SipParseError("status code out of range")
        message = SipResponse(status, parts[2].strip() if len(parts) > 2 else "")
    else:
        parts = start.split(" ")
        if len(parts) != 3 or not parts[1]:
            raise SipParseError("bad request line")
        method, raw_uri, version = parts
        if method not in _METHODS and not _TOKEN.match(method):
            raise SipParseError("bad method")
        message = SipRequest(method, raw_uri)
        if version != "SIP/2.0":
            raise SipParseError("Version Not Supported", message)
        if ":" not in raw_uri:
            raise SipParseError("bad Request-URI", message)
    headers = message.headers
    items = headers._items
    if len(lines) > 1 and _fast_headers(lines, headers):
        _check_body(message, body, datagram)
        _validate(message)
        return message
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            if not items:
                raise SipParseError("continuation line before any header")
            key, value = items[-1]
            items[-1] = (key, value + " " + line.strip())
            continue
        colon = line.find(":")
        if colon <= 0:
            raise SipParseError("header line without colon", message)
        written = line[:colon]
        known = _KNOWN_NAMES.get(written)
        if known is None:
            name = written.rstrip()
            if not _TOKEN.match(name):
                raise SipParseError(f"bad header name {name[:40]!r}", message)
            lower = name.lower()
            known = COMPACT_FORMS.get(lower, lower)
            if len(_KNOWN_NAMES) < 4096:
                _KNOWN_NAMES[written] = known
        items.append((known, line[colon + 1 :].strip()))
    _check_body(message, body, datagram)
    _validate(message)
    return message


def _fast_headers(lines: list[str], headers: Headers) -> bool:
    """The header lines of the usual message (no folding, every name seen before, one colon
    each) read in one pass, with the index of first values ``Headers`` would build on its first
    read; False, with ``headers`` untouched, when any line needs the full loop."""
    known = _KNOWN_NAMES
    out: list[tuple[str, str]] = []
    append = out.append
    first: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        key = known.get(name)
        if key is None or not colon:
            return False  # a new name, no colon, a blank or folded line: the full loop says
        value = value.strip()
        append((key, value))
        if key not in first:
            first[key] = value
    headers._items.extend(out)
    headers._first = first
    return True


def _check_body(message: SipRequest | SipResponse, body: bytes, datagram: bool) -> None:
    headers = message.headers
    if "content-length" not in headers:
        message.body = body if datagram else b""
        return
    lengths = headers.get_all("content-length")
    if len(lengths) > 1 and len(set(lengths)) > 1:
        raise SipParseError("conflicting Content-Length", message)
    try:
        length = parse_number(lengths[0], "Content-Length", MAX_MESSAGE_BYTES)
    except SipParseError as exc:
        raise SipParseError(exc.reason, message) from None
    if length > len(body):
        raise SipParseError("Content-Length larger than body", message)
    message.body = body[:length]


def _validate(message: SipRequest | SipResponse) -> None:
    """RFC 3261 §8.1.1: the headers every message needs, parsed now so later layers can trust them."""
    headers = message.headers
    first = headers._first if headers._first is not None else headers._index()
    for key in ("via", "from", "to", "call-id", "cseq"):
        if key not in first:
            raise SipParseError(f"missing {display_name(key)}", message)
    try:
        message.top_via  # noqa: B018 - parse and cache
        cseq = message.cseq
    except SipParseError as exc:
        raise SipParseError(exc.reason, message) from None
    # From and To are parsed when first used (most messages only need their tags); here they
    # only need to look like addresses
    for key in ("from", "to"):
        if ":" not in first[key]:
            raise SipParseError(f"bad {display_name(key)}", message)
    if not first["call-id"].strip():
        raise SipParseError("empty Call-ID", message)
    if isinstance(message, SipRequest):
        if cseq.method != message.method:
            raise SipParseError("CSeq method does not match request method", message)
        try:
            max_forwards = first.get("max-forwards")
            if max_forwards is not None:
                parse_number(max_forwards, "Max-Forwards", 255)
            expires = first.get("expires")
            if expires is not None:
                parse_number(expires, "Expires", MAX_EXPIRES)
        except SipParseError as exc:
            raise SipParseError(exc.reason, message) from None


_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


class StreamFramer:
    """Cuts a byte stream (TCP) into messages by Content-Length (RFC 3261 §18.3).

    A framing error (no or bad Content-Length, a message too large) does not lose the messages
    cut before it: ``feed`` returns them and keeps the error in ``error``, with the head of the
    faulty message in ``error.partial`` (bytes) so the transport can answer it with a 400. The
    stream cannot be trusted after that; the transport closes it.
    """

    __slots__ = ("_buffer", "error")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.error: SipParseError | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the complete messages now available (keep-alive CRLFs dropped)."""
        if self.error is not None:
            return []
        self._buffer += data
        out: list[bytes] = []
        while True:
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_MESSAGE_BYTES:
                    self._fail("Message Too Large", b"")
                return out
            head = bytes(self._buffer[:end])
            match = _CONTENT_LENGTH.search(head)
            if match is None:
                self._fail("missing Content-Length on a stream transport", head)
                return out
            try:
                length = parse_number(match.group(1).decode("latin-1"), "Content-Length", MAX_MESSAGE_BYTES)
            except SipParseError as exc:
                self._fail(exc.reason, head)
                return out
            total = end + 4 + length
            if total > MAX_MESSAGE_BYTES:
                self._fail("Message Too Large", head)
                return out
            if len(self._buffer) < total:
                return out
            out.append(bytes(self._buffer[:total]))
            del self._buffer[:total]

    @property
    def buffered(self) -> int:
        """Bytes held of a message not complete yet."""
        return len(self._buffer)

    def _fail(self, reason: str, head: bytes) -> None:
        self.error = SipParseError(reason, head)
        self._buffer.clear()
