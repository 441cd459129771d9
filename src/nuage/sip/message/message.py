"""SIP requests and responses (RFC 3261 §7): the model and the serializer.

Headers are kept as read, parsed when asked for and cached; ``nuage.sip.message.parser`` turns
bytes into these messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from nuage.sip.message.errors import SipParseError
from nuage.sip.message.headers import (
    LIST_HEADERS,
    CSeq,
    NameAddr,
    Via,
    display_name,
    split_list,
)
from nuage.sip.message.uri import SipUri

T = TypeVar("T")

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


def reason_phrase(status: int) -> str:
    """The usual reason phrase of a status code."""
    return _REASON_PHRASES.get(status) or _REASON_PHRASES.get(status // 100 * 100, "Unknown")


class Headers:
    """An ordered multi-map of header lines keyed by canonical lower-case name.

    Each entry is one header line as received (it may hold a comma list). Typed views are
    cached per key and dropped when that key changes.
    """

    __slots__ = ("_cache", "_first", "_items")

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = items if items is not None else []
        self._cache: dict[str, Any] = {}
        self._first: dict[str, str] | None = None  # key -> first value, built on first read

    def _index(self) -> dict[str, str]:
        first: dict[str, str] = {}
        for k, v in self._items:
            if k not in first:
                first[k] = v
        self._first = first
        return first

    def get(self, key: str) -> str | None:
        """The first line's value for ``key`` (canonical name), or None."""
        first = self._first
        if first is None:
            first = self._index()
        return first.get(key)

    def get_all(self, key: str) -> list[str]:
        """Every line's value for ``key``, in order."""
        first = self._first
        if first is None:
            first = self._index()
        if key not in first:
            return []
        if len(first) == len(self._items):  # no name twice: one line each (the usual request)
            return [first[key]]
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

    def forget_views(self) -> None:
        """Drop the typed views (built again when asked): a message kept only in case it is
        retransmitted then holds a few objects rather than a few dozen (issue #22)."""
        self._cache.clear()

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
        first = self._first
        if first is None:
            first = self._index()
        return key in first

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def _forget(self, key: str) -> None:
        """Drop what was read from ``key``'s lines (before they change)."""
        self._first = None
        self._cache.pop(key, None)
        if key == "via":
            self._cache.pop("via0", None)
        elif key in ("to", "from"):
            self._cache.pop(key + "-tag", None)

    def set(self, key: str, value: str | None) -> None:
        """Replace every line of ``key`` with one value (None: remove)."""
        self._forget(key)
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

    def set_at(self, index: int, key: str, value: str) -> None:
        """Replace the line at ``index`` (of the same key) with ``value``."""
        first = self._first
        self._forget(key)
        items = self._items
        items[index] = (key, value)
        if first is not None:  # the index stays good: only this key's value may change in it
            for earlier, _ in items[:index]:
                if earlier == key:
                    break
            else:
                first[key] = value
            self._first = first

    def add(self, key: str, value: str) -> None:
        """Append one line."""
        self._first = None
        if self._cache:
            self._cache.pop(key, None)
            if key in ("to", "from"):
                self._cache.pop(key + "-tag", None)
        self._items.append((key, value))

    def prepend(self, key: str, value: str) -> None:
        """Insert one line before every other line of the same key (or at the top)."""
        self._first = None
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


_NAMES: dict[str, str] = {}  # canonical key -> "Display-Name: " (keys are header names: bounded)


def header_lines(lines: list[str], items: Iterable[tuple[str, str]]) -> None:
    """Append a ``Name: value`` line to ``lines`` for each (canonical key, value) of ``items`` but
    Content-Length (the writer adds its own); names' display forms kept in a bounded cache."""
    names = _NAMES
    for key, value in items:
        if key != "content-length":
            name = names.get(key)
            if name is None:
                name = display_name(key) + ": "
                if len(names) < 4096:
                    names[key] = name
            lines.append(name + value)


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
        found = self.headers._cache.get("cseq")  # read directly: every message asks, often
        if found is None:
            found = self.headers._cache["cseq"] = CSeq.parse(self.headers.get("cseq") or "")
        return found

    @property
    def from_addr(self) -> NameAddr:
        """The parsed From."""
        found = self.headers._cache.get("from")
        if found is None:
            found = self.headers._cache["from"] = NameAddr.parse(self.headers.get("from") or "")
        return found

    @property
    def to_tag(self) -> str | None:
        """The To tag, read without parsing the whole header (hot path of dialog matching)."""
        cache = self.headers._cache
        if "to-tag" not in cache:
            cache["to-tag"] = _tag_of(self.headers.get("to") or "")
        return cache["to-tag"]  # type: ignore[no-any-return]

    @property
    def from_tag(self) -> str | None:
        """The From tag, read without parsing the whole header."""
        cache = self.headers._cache
        if "from-tag" not in cache:
            cache["from-tag"] = _tag_of(self.headers.get("from") or "")
        return cache["from-tag"]  # type: ignore[no-any-return]

    @property
    def to_addr(self) -> NameAddr:
        """The parsed To."""
        found = self.headers._cache.get("to")
        if found is None:
            found = self.headers._cache["to"] = NameAddr.parse(self.headers.get("to") or "")
        return found

    @property
    def vias(self) -> list[Via]:
        """Every Via value, top first."""
        return self.headers.cached("via", lambda: [Via.parse(v) for v in self.headers.values("via")])

    @property
    def top_via(self) -> Via:
        """The first Via (parsed alone: the others are rarely needed)."""
        found = self.headers._cache.get("via0")
        if found is None:
            found = self.headers._cache["via0"] = self._parse_top_via()
        return found

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
        header_lines(lines, self.headers._items)
        lines.append(f"Content-Length: {len(self.body)}\r\n\r\n")
        data = "\r\n".join(lines).encode()
        return data + self.body if self.body else data


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

    def forget_views(self) -> None:
        """Drop the parsed views of the headers and Request-URI (parsed again when asked)."""
        self.headers.forget_views()
        self._uri = None

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
