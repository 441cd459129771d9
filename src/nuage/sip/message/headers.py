"""Header names and typed header values: name-addr (From/To/Contact), Via, CSeq (auth params:
``auth``).

Headers are kept raw in the message and parsed here on demand, so that a proxy-like path
(the B2BUA reads a handful of headers) does not pay for the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, final

from nuage.sip.message.errors import SipParseError
from nuage.sip.message.names import COMPACT_FORMS as COMPACT_FORMS
from nuage.sip.message.names import LIST_HEADERS as LIST_HEADERS
from nuage.sip.message.names import canonical_key as canonical_key
from nuage.sip.message.names import display_name as display_name
from nuage.sip.message.uri import SipUri, format_host, remember, split_hostport

_NEEDS_QUOTES = re.compile(r'[\s;,"<>]')
_USUAL_VIA = re.compile(r'SIP/2\.0/([A-Za-z]+) ([^;:\s\[\]<>"@/,]+)(?::([0-9]{1,5}))?((?:;[^;"\s,]+)*)\Z')
_BRANCH_VIA = re.compile(
    r'SIP/2\.0/([A-Za-z]+) ([^;:\s\[\]<>"@/,]+)(?::([0-9]{1,5}))?;branch=([^;"\s,=]+)(;rport)?\Z'
)
_PLAIN_TAG = re.compile(r"[^;,\s\"<>=]+\Z")  # a tag value that parse_params reads as it is
Params = tuple[tuple[str, str | None], ...]  # a header's parameters in order, a flag's value None
_name_addrs: dict[str, NameAddr] = {}
_cseqs: dict[str, CSeq] = {}


def parse_number(text: str, name: str, maximum: int, minimum: int = 0) -> int:
    """A numeric header field: ASCII digits only, between ``minimum`` and ``maximum``.

    ``str.isdigit`` accepts Unicode digits (``²``) that ``int`` refuses, and ``int`` of thousands
    of digits is slow or refused: both gave 500s. The reason phrase names the header.
    """
    text = text.strip()
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        raise SipParseError(f"bad {name}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise SipParseError(f"{name} out of range")
    return value


def split_list(value: str) -> list[str]:
    """Split a header value on commas that are outside quotes and angle brackets."""
    if "," not in value:
        stripped = value.strip()
        return [stripped] if stripped else []
    out: list[str] = []
    depth_angle = 0
    in_quotes = False
    start = 0
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if in_quotes:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quotes = False
        elif c == '"':
            in_quotes = True
        elif c == "<":
            depth_angle += 1
        elif c == ">":
            depth_angle = max(0, depth_angle - 1)
        elif c == "," and depth_angle == 0:
            item = value[start:i].strip()
            if item:
                out.append(item)
            start = i + 1
        i += 1
    if in_quotes:
        raise SipParseError("unterminated quoted string")
    item = value[start:].strip()
    if item:
        out.append(item)
    return out


def parse_params(text: str) -> tuple[tuple[str, str | None], ...]:
    """Parse ``;a=b;c;d="x;y"`` header parameters (names lower-cased, quotes kept off).

    An empty parameter (``;;``, a trailing ``;``, ``;name=`` without a value) is refused.
    """
    text = text.strip()
    if not text:
        return ()
    if text[0] != ";":
        raise SipParseError("garbage before header parameters")
    if '"' not in text:  # fast path: no quoted values, so ';' only separates parameters
        fast: list[tuple[str, str | None]] = []
        for item in text[1:].split(";"):
            name, sep, value = item.partition("=")
            name = name.strip().lower()
            if not name:
                raise SipParseError("empty header parameter")
            if sep:
                value = value.strip()
                if not value:
                    raise SipParseError(f"empty value of header parameter {name[:20]!r}")
                fast.append((name, value))
            else:
                fast.append((name, None))
        return tuple(fast)
    out: list[tuple[str, str | None]] = []
    i, n = 1, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        j = i
        while j < n and text[j] not in "=;":
            j += 1
        name = text[i:j].strip().lower()
        if not name:
            raise SipParseError("empty header parameter")
        if j < n and text[j] == "=":
            j += 1
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == '"':
                value, j = read_quoted(text, j)
                while j < n and text[j] in " \t":
                    j += 1
                if j < n and text[j] != ";":
                    raise SipParseError("garbage after a quoted header parameter")
            else:
                k = j
                while j < n and text[j] != ";":
                    j += 1
                value = text[k:j].strip()
                if not value:
                    raise SipParseError(f"empty value of header parameter {name[:20]!r}")
            out.append((name, value))
        else:
            out.append((name, None))
        if j >= n:
            return tuple(out)
        i = j + 1  # past the ';'


def format_params(params: tuple[tuple[str, str | None], ...]) -> str:
    """Serialise header parameters, quoting values that need it."""
    parts = []
    for name, value in params:
        if value is None:
            parts.append(f";{name}")
        elif value == "" or _NEEDS_QUOTES.search(value):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f';{name}="{escaped}"')
        else:
            parts.append(f";{name}={value}")
    return "".join(parts)


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a quoted string starting at ``text[start] == '"'``; return (unescaped value, index after)."""
    end = text.find('"', start + 1)
    if end > 0 and text.find("\\", start + 1, end) < 0:  # fast path: no escapes
        return text[start + 1 : end], end + 1
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise SipParseError("unterminated quoted string")


def _get(params: tuple[tuple[str, str | None], ...], name: str) -> str | None:
    for key, value in params:
        if key == name:
            return "" if value is None else value
    return None


def _set(
    params: tuple[tuple[str, str | None], ...], name: str, value: str | None
) -> tuple[tuple[str, str | None], ...]:
    out = [(k, v) for k, v in params if k != name]
    out.append((name, value))
    return tuple(out)


@final
class NameAddr:
    """``"Display" <uri>;params`` as in From, To, Contact, Route and Record-Route; ``wildcard``:
    the ``*`` of a Contact. Immutable (``Final``), equal and hashed by value; hand-written rather
    than a frozen dataclass, as ``Via`` (issue #22)."""

    __slots__ = ("display", "params", "uri", "wildcard")
    __match_args__ = ("uri", "display", "params", "wildcard")

    def __init__(
        self, uri: SipUri, display: str | None = None, params: Params = (), wildcard: bool = False
    ) -> None:
        self.uri: Final = uri
        self.display: Final = display
        self.params: Final = params
        self.wildcard: Final = wildcard

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NameAddr):
            return NotImplemented
        return (
            self.uri == other.uri
            and self.params == other.params
            and self.display == other.display
            and self.wildcard == other.wildcard
        )

    def __hash__(self) -> int:
        return hash((self.uri, self.display, self.params, self.wildcard))

    def __repr__(self) -> str:
        where = f"uri={self.uri!r}, display={self.display!r}"
        return f"NameAddr({where}, params={self.params!r}, wildcard={self.wildcard!r})"

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse a name-addr or addr-spec; parameters after a bare addr-spec belong to the header.

        Values without a tag (To of a REGISTER, Contact) are shared from a bounded cache: they
        are immutable and the same phones send the same ones (issue #22)."""
        found = _name_addrs.get(text)
        if found is not None:
            return found
        if "tag=" in text:
            tagged = cls._with_last_tag(text)
            if tagged is not None:
                return tagged
            return cls._parse(text)
        value = cls._parse(text)
        if len(text) <= 512:
            remember(_name_addrs, text, value)
        return value

    @classmethod
    def _with_last_tag(cls, text: str) -> NameAddr | None:
        """A value ending in ``;tag=<token>`` (a From, a To in a dialog): the value before it,
        shared like any value without a tag, with the tag added as its last parameter; None
        when the tag is not plainly last (the full reader then decides)."""
        base, sep, tag = text.rpartition(";tag=")
        if not sep or not _PLAIN_TAG.match(tag) or "tag=" in base:
            return None
        try:
            found = cls.parse(base)
        except SipParseError:
            return None
        if found.wildcard:
            return None
        return cls(uri=found.uri, display=found.display, params=(*found.params, ("tag", tag)))

    @classmethod
    def _parse(cls, text: str) -> NameAddr:
        text = text.strip()
        if text == "*":
            return cls(uri=SipUri("sip", "*"), wildcard=True)
        display: str | None = None
        if text.startswith('"'):
            display, end = read_quoted(text, 0)
            text = text[end:].lstrip()
            if not text.startswith("<"):
                raise SipParseError("quoted display name without <uri>")
        lt = text.find("<")
        if lt >= 0:
            gt = text.find(">", lt)
            if gt < 0:
                raise SipParseError("unterminated <uri>")
            if display is None:
                display = text[:lt].strip() or None
            uri = SipUri.parse(text[lt + 1 : gt])
            params = parse_params(text[gt + 1 :])
        else:
            semi = text.find(";")
            uri_text, param_text = (text, "") if semi < 0 else (text[:semi], text[semi:])
            if " " in uri_text.strip():
                raise SipParseError("space in addr-spec")
            uri = SipUri.parse(uri_text)
            params = parse_params(param_text)
        return cls(uri=uri, display=display, params=params)

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        display = ""
        if self.display:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri}>{format_params(self.params)}"

    @property
    def tag(self) -> str | None:
        """The tag parameter, or None."""
        return _get(self.params, "tag") or None

    def param(self, name: str) -> str | None:
        """A header parameter ('' for a flag, None if absent)."""
        return _get(self.params, name.lower())

    def with_tag(self, tag: str) -> NameAddr:
        """A copy with the tag set."""
        return NameAddr(self.uri, self.display, _set(self.params, "tag", tag), self.wildcard)

    def with_param(self, name: str, value: str | None) -> NameAddr:
        """A copy with a header parameter set (None: a flag)."""
        return NameAddr(self.uri, self.display, _set(self.params, name.lower(), value), self.wildcard)


@final
class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=...;rport;received=...``.

    Immutable (``Final``), equal and hashed by value; hand-written rather than a frozen dataclass,
    as ``Address``: every message parses one and every request gets one stamped (issue #22)."""

    __slots__ = ("host", "params", "port", "transport")
    __match_args__ = ("transport", "host", "port", "params")

    def __init__(self, transport: str, host: str, port: int | None = None, params: Params = ()) -> None:
        self.transport: Final = transport
        self.host: Final = host
        self.port: Final = port
        self.params: Final = params

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Via):
            return NotImplemented
        return (
            self.params == other.params
            and self.host == other.host
            and self.port == other.port
            and self.transport == other.transport
        )

    def __hash__(self) -> int:
        return hash((self.transport, self.host, self.port, self.params))

    def __repr__(self) -> str:
        where = f"transport={self.transport!r}, host={self.host!r}, port={self.port!r}"
        return f"Via({where}, params={self.params!r})"

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one Via value (not a comma list)."""
        text = text.strip()
        usual = _BRANCH_VIA.match(text)
        if usual is not None:  # ...;branch=<token>[;rport], a phone's usual Via: no parameter loop
            transport, host, port_text, branch, rport = usual.groups()
            port = int(port_text) if port_text is not None else None
            if port is None or 0 < port < 65536:
                known: tuple[tuple[str, str | None], ...] = (
                    (("branch", branch), ("rport", None)) if rport else (("branch", branch),)
                )
                return cls(transport.upper(), host.lower(), port, known)
        usual = _USUAL_VIA.match(text)
        if usual is not None:  # SIP/2.0/UDP host:port;params: one match, the rest as below
            transport, host, port_text, param_text = usual.groups()
            port = int(port_text) if port_text is not None else None
            if port is None or 0 < port < 65536:
                params = parse_params(param_text)
                for key, value in params:
                    if key == "rport" and value is not None:
                        parse_number(value, "Via rport", 65535, 1)
                return cls(transport.upper(), host.lower(), port, params)
        slash1 = text.find("/")
        slash2 = text.find("/", slash1 + 1)
        if slash1 < 0 or slash2 < 0:
            raise SipParseError("bad Via protocol")
        if text[:slash1].strip().upper() != "SIP" or text[slash1 + 1 : slash2].strip() != "2.0":
            raise SipParseError("bad Via protocol")
        rest = text[slash2 + 1 :].lstrip()
        i = 0
        while i < len(rest) and rest[i] not in " \t":
            i += 1
        transport = rest[:i].upper()
        if not transport:
            raise SipParseError("Via without transport")
        rest = rest[i:].strip()
        semi = rest.find(";")
        sent_by, param_text = (rest, "") if semi < 0 else (rest[:semi], rest[semi:])
        host, port = split_hostport(sent_by.replace(" ", ""))
        params = parse_params(param_text)
        for key, value in params:
            if key == "rport" and value is not None:
                parse_number(value, "Via rport", 65535, 1)
        return cls(transport, host, port, params)

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {format_host(self.host)}{port}{format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        """The branch parameter, or None."""
        return _get(self.params, "branch") or None

    def param(self, name: str) -> str | None:
        """A parameter ('' for a flag, None if absent)."""
        return _get(self.params, name)

    def with_param(self, name: str, value: str | None) -> Via:
        """A copy with a parameter set (None: a flag)."""
        return Via(self.transport, self.host, self.port, _set(self.params, name, value))

    @property
    def sent_by(self) -> tuple[str, int]:
        """(host, port) of sent-by, port defaulting to 5060 (5061 for TLS)."""
        default = 5061 if self.transport == "TLS" else 5060
        return self.host, self.port if self.port is not None else default


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: 314159 INVITE``."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        """Parse a CSeq value; the number must fit in 32 bits (RFC 3261 §8.1.1.5)."""
        found = _cseqs.get(text)
        if found is not None:
            return found
        parts = text.split()
        if len(parts) != 2:
            raise SipParseError("bad CSeq")
        value = cls(parse_number(parts[0], "CSeq", 2**31 - 1), parts[1])
        if len(text) <= 64:
            remember(_cseqs, text, value)
        return value

    def __str__(self) -> str:
        return f"{self.number} {self.method}"
