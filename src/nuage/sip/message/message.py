"""SIP requests and responses (RFC 3261 §7): the model, the parser and the serializer.

The parser reads the start line and splits header lines eagerly, but parses only the headers
every message needs (Via, From, To, Call-ID, CSeq, Content-Length); the others are parsed when
asked for. It is strict where RFC 3261 is (start line, version, mandatory headers, CSeq method,
Content-Length of a datagram) and lenient where it says to be (compact forms, any header-name
case, line folding, bare LF line ends, leading blank lines).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from nuage.sip.message.errors import SipParseError
from nuage.sip.message.headers import (
    COMPACT_FORMS,
    LIST_HEADERS,
    CSeq,
    NameAddr,
    Via,
    display_name,
    parse_number,
    split_list,
)
from nuage.sip.message.uri import SipUri

T = TypeVar("T")

_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}
MAX_MESSAGE_BYTES = 65535
MAX_EXPIRES = 2**32 - 1  # RFC 3261 §20.19: delta-seconds fit in 32 bits
_KNOWN_NAMES: dict[str, str] = {}  # header name as written -> canonical key (bounded cache)


def reason_phrase(status: int) -> str:
    """The usual reason phrase of a status code."""
    return _REASON_PHRASES.get(status) or _REASON_PHRASES.get(status // 100 * 100, "Unknown")


class Headers:
    """An ordered multi-map of header lines keyed by canonical lower-case name.

    Each entry is one header line as received (it may hold a comma list). Typed views are
    cached per key and dropped when that key changes.
    """

    __slots__ = ("_cache", "_items")

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = items if items is not None else []
        self._cache: dict[str, Any] = {}

    def get(self, key: str) -> str | None:
        """The first line's value for ``key`` (canonical name), or None."""
        for k, v in self._items:
            if k == key:
                return v
        return None

    def get_all(self, key: str) -> list[str]:
        """Every line's value for ``key``, in order."""
        return [v for k, v in self._items if k == key]

    def values(self, key: str) -> list[str]:
        """Every value for ``key``, comma lists split for list headers."""
        lines = self.get_all(key)
        if key not in LIST_HEADERS:
            return lines
        out: list[str] = []
        for line in lines:
            out.extend(split_list(line))
        return out

    def prime(self, key: str, value: object) -> None:
        """Store a typed view the caller already has (after changing the header itself)."""
        self._cache[key] = value

    def cached(self, key: str, build: Callable[[], T]) -> T:
        """A typed view of ``key`` computed once until the key changes."""
        try:
            return self._cache[key]  # type: ignore[no-any-return]
        except KeyError:
            value = build()
            self._cache[key] = value
            return value

    def __contains__(self, key: object) -> bool:
        for k, _ in self._items:  # noqa: SIM110 - a plain loop: this is on every message's path
            if k == key:
                return True
        return False

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def set(self, key: str, value: str | None) -> None:
        """Replace every line of ``key`` with one value (None: remove)."""
        self._cache.pop(key, None)
        if key == "via":
            self._cache.pop("via0", None)
        elif key in ("to", "from"):
            self._cache.pop(key + "-tag", None)
        for index, (k, _) in enumerate(self._items):
            if k == key:
                if value is None:
                    break
                self._items[index] = (key, value)
                self._items[index + 1 :] = [(k2, v2) for k2, v2 in self._items[index + 1 :] if k2 != key]
                return
        self._items = [(k, v) for k, v in self._items if k != key]
        if value is not None:
            self._items.append((key, value))

    def add(self, key: str, value: str) -> None:
        """Append one line."""
        if self._cache:
            self._cache.pop(key, None)
            if key in ("to", "from"):
                self._cache.pop(key + "-tag", None)
        self._items.append((key, value))

    def prepend(self, key: str, value: str) -> None:
        """Insert one line before every other line of the same key (or at the top)."""
        self._cache.pop(key, None)
        for index, (k, _) in enumerate(self._items):
            if k == key:
                self._items.insert(index, (key, value))
                return
        self._items.insert(0, (key, value))

    def remove(self, key: str) -> None:
        """Remove every line of ``key``."""
        self.set(key, None)

    def copy(self) -> Headers:
        """A shallow copy (values are strings)."""
        return Headers(list(self._items))


_TAG = re.compile(r";[ \t]*tag[ \t]*=[ \t]*([^;,\s]+)", re.IGNORECASE)


def _tag_of(value: str) -> str | None:
    """The tag parameter of a From/To value (parameters after ``>``, or after a bare URI)."""
    gt = value.rfind(">")
    if gt < 0 and '"' not in value:
        # addr-spec form: URI parameters and header parameters cannot be told apart by grammar;
        # RFC 3261 §20.10 says they are header parameters
        gt = value.find(";") - 1
    match = _TAG.search(value, max(gt, 0))
    return match.group(1) if match else None


class SipMessage:
    """What requests and responses share: headers, body, and typed views of the core headers."""

    __slots__ = ("body", "headers")

    def __init__(self, headers: Headers | None = None, body: bytes = b"") -> None:
        self.headers = headers if headers is not None else Headers()
        self.body = body

    # -- core headers ---------------------------------------------------------------------
    @property
    def call_id(self) -> str:
        """The Call-ID ('' if absent)."""
        return self.headers.get("call-id") or ""

    @property
    def cseq(self) -> CSeq:
        """The parsed CSeq."""
        return self.headers.cached("cseq", lambda: CSeq.parse(self.headers.get("cseq") or ""))

    @property
    def from_addr(self) -> NameAddr:
        """The parsed From."""
        return self.headers.cached("from", lambda: NameAddr.parse(self.headers.get("from") or ""))

    @property
    def to_tag(self) -> str | None:
        """The To tag, read without parsing the whole header (hot path of dialog matching)."""
        return self.headers.cached("to-tag", lambda: _tag_of(self.headers.get("to") or ""))

    @property
    def from_tag(self) -> str | None:
        """The From tag, read without parsing the whole header."""
        return self.headers.cached("from-tag", lambda: _tag_of(self.headers.get("from") or ""))

    @property
    def to_addr(self) -> NameAddr:
        """The parsed To."""
        return self.headers.cached("to", lambda: NameAddr.parse(self.headers.get("to") or ""))

    @property
    def vias(self) -> list[Via]:
        """Every Via value, top first."""
        return self.headers.cached("via", lambda: [Via.parse(v) for v in self.headers.values("via")])

    @property
    def top_via(self) -> Via:
        """The first Via (parsed alone: the others are rarely needed)."""
        return self.headers.cached("via0", self._parse_top_via)

    def _parse_top_via(self) -> Via:
        line = self.headers.get("via")
        if line is None:
            raise SipParseError("no Via")
        if "," in line:
            values = split_list(line)
            if not values:
                raise SipParseError("empty Via")
            line = values[0]
        return Via.parse(line)

    @property
    def contacts(self) -> list[NameAddr]:
        """Every Contact value."""
        return self.headers.cached(
            "contact", lambda: [NameAddr.parse(v) for v in self.headers.values("contact")]
        )

    def name_addrs(self, key: str) -> list[NameAddr]:
        """Every value of a name-addr list header (Route, Record-Route, Path...)."""
        return self.headers.cached(key, lambda: [NameAddr.parse(v) for v in self.headers.values(key)])

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-case, without parameters ('' if absent)."""
        value = self.headers.get("content-type") or ""
        return value.split(";", 1)[0].strip().lower()

    def int_header(self, key: str) -> int | None:
        """An integer header (Expires, Max-Forwards, Min-SE...); None if absent or not a number."""
        value = self.headers.get(key)
        if value is None:
            return None
        value = value.split(";", 1)[0].strip()
        if not value or len(value) > 10 or not value.isascii() or not value.isdigit():
            return None
        return int(value)

    def _head_lines(self) -> list[str]:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Serialise; Content-Length is always written and always matches the body."""
        lines = self._head_lines()
        for key, value in self.headers:
            if key != "content-length":
                lines.append(f"{display_name(key)}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


class SipRequest(SipMessage):
    """A SIP request; ``uri`` is parsed on first use."""

    __slots__ = ("_uri", "method", "raw_uri")

    def __init__(
        self, method: str, uri: SipUri | str, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        super().__init__(headers, body)
        self.method = method
        if isinstance(uri, SipUri):
            self._uri: SipUri | None = uri
            self.raw_uri = str(uri)
        else:
            self._uri = None
            self.raw_uri = uri

    @property
    def uri(self) -> SipUri:
        """The Request-URI."""
        if self._uri is None:
            self._uri = SipUri.parse(self.raw_uri)
        return self._uri

    @uri.setter
    def uri(self, value: SipUri) -> None:
        self._uri = value
        self.raw_uri = str(value)

    def _head_lines(self) -> list[str]:
        return [f"{self.method} {self.raw_uri} SIP/2.0"]

    def __repr__(self) -> str:
        return f"<SipRequest {self.method} {self.raw_uri} call_id={self.call_id!r}>"


class SipResponse(SipMessage):
    """A SIP response."""

    __slots__ = ("reason", "status")

    def __init__(
        self, status: int, reason: str | None = None, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        super().__init__(headers, body)
        self.status = status
        self.reason = reason if reason is not None else reason_phrase(status)

    def _head_lines(self) -> list[str]:
        return [f"SIP/2.0 {self.status} {self.reason}"]

    def __repr__(self) -> str:
        return f"<SipResponse {self.status} {self.reason} call_id={self.call_id!r}>"


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
        if not _TOKEN.match(method):
            raise SipParseError("bad method")
        message = SipRequest(method, raw_uri)
        if version != "SIP/2.0":
            raise SipParseError("Version Not Supported", message)
        if ":" not in raw_uri:
            raise SipParseError("bad Request-URI", message)
    items = message.headers._items
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


def _check_body(message: SipRequest | SipResponse, body: bytes, datagram: bool) -> None:
    lengths = message.headers.get_all("content-length")
    if not lengths:
        message.body = body if datagram else b""
        return
    if len(set(lengths)) > 1:
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
    for key in ("via", "from", "to", "call-id", "cseq"):
        if key not in headers:
            raise SipParseError(f"missing {display_name(key)}", message)
    try:
        message.top_via  # noqa: B018 - parse and cache
        cseq = message.cseq
    except SipParseError as exc:
        raise SipParseError(exc.reason, message) from None
    # From and To are parsed when first used (most messages only need their tags); here they
    # only need to look like addresses
    for key in ("from", "to"):
        value = headers.get(key) or ""
        if ":" not in value:
            raise SipParseError(f"bad {display_name(key)}", message)
    if not message.call_id.strip():
        raise SipParseError("empty Call-ID", message)
    if isinstance(message, SipRequest):
        if cseq.method != message.method:
            raise SipParseError("CSeq method does not match request method", message)
        try:
            max_forwards = headers.get("max-forwards")
            if max_forwards is not None:
                parse_number(max_forwards, "Max-Forwards", 255)
            expires = headers.get("expires")
            if expires is not None:
                parse_number(expires, "Expires", MAX_EXPIRES)
        except SipParseError as exc:
            raise SipParseError(exc.reason, message) from None


class StreamFramer:
    """Cuts a byte stream (TCP) into messages by Content-Length (RFC 3261 §18.3).

    A framing error (no or bad Content-Length, a message too large) does not lose the messages
    cut before it: ``feed`` returns them and keeps the error in ``error``, with the head of the
    faulty message in ``error.partial`` (bytes) so the transport can answer it with a 400. The
    stream cannot be trusted after that; the transport closes it.
    """

    __slots__ = ("_buffer", "error")

    _LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)

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
            match = self._LENGTH.search(head)
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
