"""SIP and tel URIs (RFC 3261 §19.1, RFC 3966): parsing, escaping, IPv6 references."""

from __future__ import annotations

import re
from typing import Final, TypeVar, final
from urllib.parse import quote, unquote

from nuage.sip.message.errors import SipParseError

_DEFAULT_PORTS = {"sip": 5060, "sips": 5061}
_BAD_HOST = re.compile(r'[\s<>"@]')
_PLAIN = re.compile(r"^[A-Za-z0-9\-_.!~*'()+]*$")  # needs no escaping anywhere in a URI


def _quote(text: str, safe: str) -> str:
    return text if _PLAIN.match(text) else quote(text, safe=safe)


# Characters left unescaped in the user part (RFC 3261 §25.1 "user" = unreserved / escaped / user-unreserved).
_USER_SAFE = "-_.!~*'()&=+$,;?/"
_PARAM_SAFE = "-_.!~*'()[]/:&+$"
CACHE_SIZE = 4096  # parsed values kept by text (immutable, shared): a phone repeats its URIs, To, Contact
_parsed: dict[str, SipUri] = {}
K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V) -> V:
    """Keep ``value`` under ``key`` in one of the bounded caches of parsed or formatted values
    (emptied whole when it holds ``CACHE_SIZE``); returns ``value``."""
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


@final
class SipUri:
    """A sip:, sips: or tel: URI; ``params`` keep their order, a flag parameter has value None.

    Immutable (``Final``), equal and hashed by value, its text formatted once and kept. Written
    by hand rather than as a frozen dataclass: the methods ``@dataclass`` generates run
    interpreted even in a compiled module, and formatting kept the texts in a dictionary keyed
    by the URI, hashed and compared interpreted at each ``str()`` (issue #22)."""

    __slots__ = ("_text", "headers", "host", "params", "password", "port", "scheme", "user")
    __match_args__ = ("scheme", "host", "user", "password", "port", "params", "headers")

    def __init__(
        self,
        scheme: str,
        host: str,
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
        params: tuple[tuple[str, str | None], ...] = (),
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.scheme: Final = scheme
        self.host: Final = host
        self.user: Final = user
        self.password: Final = password
        self.port: Final = port
        self.params: Final = params
        self.headers: Final = headers
        self._text: str | None = None

    def _key(self) -> tuple[object, ...]:
        return (self.scheme, self.host, self.user, self.password, self.port, self.params, self.headers)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SipUri):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        where = f"scheme={self.scheme!r}, host={self.host!r}, user={self.user!r}, password={self.password!r}"
        return f"SipUri({where}, port={self.port!r}, params={self.params!r}, headers={self.headers!r})"

    def with_user(self, user: str | None) -> SipUri:
        """A copy with another user part."""
        return SipUri(self.scheme, self.host, user, self.password, self.port, self.params, self.headers)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a URI; raise SipParseError when it is not a sip, sips or tel URI.

        URIs are immutable: one parsed from the same text is shared (a bounded cache; the
        same phones send the same URIs over and over, issue #22)."""
        found = _parsed.get(text)
        if found is not None and cls is SipUri:
            return found
        uri = cls._parse(text)
        if cls is SipUri and len(text) <= 512:
            remember(_parsed, text, uri)
        return uri

    @classmethod
    def _parse(cls, text: str) -> SipUri:
        text = text.strip()
        colon = text.find(":")
        if colon <= 0:
            raise SipParseError(f"URI without scheme: {text[:60]!r}")
        scheme = text[:colon].lower()
        rest = text[colon + 1 :]
        if scheme == "tel":
            number, _, tail = rest.partition(";")
            if not number:
                raise SipParseError("tel URI without number")
            return cls(scheme="tel", host="", user=unquote(number), params=_parse_params(tail))
        if scheme not in ("sip", "sips"):
            raise SipParseError(f"unsupported URI scheme {scheme!r}")
        headers: tuple[tuple[str, str], ...] = ()
        qmark = rest.find("?", rest.rfind("@") + 1)  # '?' may appear in the user part (RFC 4475)
        if qmark >= 0:
            headers = tuple(
                (unquote(k), unquote(v))
                for k, _, v in (item.partition("=") for item in rest[qmark + 1 :].split("&") if item)
            )
            rest = rest[:qmark]
        user = password = None
        at = rest.rfind("@")
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1 :]
            if not userinfo:
                raise SipParseError("empty user part in URI")
            user_raw, sep, password_raw = userinfo.partition(":")
            user = unquote(user_raw) if "%" in user_raw else user_raw
            password = (unquote(password_raw) if "%" in password_raw else password_raw) if sep else None
        hostport, _, param_text = rest.partition(";")
        host, port = split_hostport(hostport)
        return cls(scheme, host, user, password, port, _parse_params(param_text), headers)

    def __str__(self) -> str:
        text = self._text
        if text is None:
            text = self._text = self._format()
        return text

    def _format(self) -> str:
        if self.scheme == "tel":
            return "tel:" + (self.user or "") + _format_params(self.params)
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(_quote(self.user, _USER_SAFE))
            if self.password is not None:
                out.append(":" + _quote(self.password, _USER_SAFE))
            out.append("@")
        out.append(format_host(self.host))
        if self.port is not None:
            out.append(f":{self.port}")
        out.append(_format_params(self.params))
        if self.headers:
            out.append("?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in self.headers))
        return "".join(out)

    def param(self, name: str) -> str | None:
        """The value of a URI parameter (case-insensitive name); '' for a flag, None if absent."""
        name = name.lower()
        for key, value in self.params:
            if key.lower() == name:
                return "" if value is None else value
        return None

    def with_params(self, **params: str | None) -> SipUri:
        """A copy with parameters set (value None: a flag)."""
        kept = [(k, v) for k, v in self.params if k.lower() not in params]
        return SipUri(
            self.scheme,
            self.host,
            self.user,
            self.password,
            self.port,
            (*kept, *params.items()),
            self.headers,
        )

    @property
    def effective_port(self) -> int:
        """The port, or the scheme's default (5060, 5061 for sips)."""
        return self.port if self.port is not None else _DEFAULT_PORTS.get(self.scheme, 5060)

    @property
    def transport(self) -> str:
        """The transport parameter, upper-cased ("UDP" when absent; "TLS" for sips)."""
        value = self.param("transport")
        if value:
            return value.upper()
        return "TLS" if self.scheme == "sips" else "UDP"


def split_hostport(text: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` where host may be an IPv6 reference ``[::1]``; host is lower-cased."""
    text = text.strip()
    if not text:
        raise SipParseError("empty host")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError("unterminated IPv6 reference")
        host, tail = text[1:end], text[end + 1 :]
        if tail and not tail.startswith(":"):
            raise SipParseError("garbage after IPv6 reference")
        port_text = tail[1:] if tail else None
    else:
        host, sep, port_text_raw = text.partition(":")
        port_text = port_text_raw if sep else None
        if ":" in port_text_raw:
            raise SipParseError("IPv6 address without brackets")
    if not host or _BAD_HOST.search(host):
        raise SipParseError(f"bad host {text[:60]!r}")
    if port_text is None:
        return host.lower(), None
    if not port_text or len(port_text) > 5 or not port_text.isascii() or not port_text.isdigit():
        raise SipParseError(f"bad port {port_text[:10]!r}")
    port = int(port_text)
    if not 0 < port < 65536:
        raise SipParseError(f"port out of range {port_text!r}")
    return host.lower(), port


def format_host(host: str) -> str:
    """Bracket an IPv6 address for use in a URI or Via."""
    return f"[{host}]" if ":" in host else host


def _parse_params(text: str) -> tuple[tuple[str, str | None], ...]:
    if not text:
        return ()
    out: list[tuple[str, str | None]] = []
    for item in text.split(";"):
        if not item:
            raise SipParseError("empty URI parameter")
        key, sep, value = item.partition("=")
        key = key.strip()
        if "%" in key:
            key = unquote(key)
        if not key:
            raise SipParseError("empty URI parameter name")
        if sep:
            value = value.strip()
            out.append((key, unquote(value) if "%" in value else value))
        else:
            out.append((key, None))
    return tuple(out)


def _format_params(params: tuple[tuple[str, str | None], ...]) -> str:
    out = []
    for key, value in params:
        out.append(";" + _quote(key, _PARAM_SAFE))
        if value is not None:
            out.append("=" + _quote(value, _PARAM_SAFE))
    return "".join(out)


# RFC 3261 §19.1.4: these URI parameters must match when either URI has them.
_SIGNIFICANT_PARAMS = ("user", "ttl", "method", "maddr", "transport")


def uri_equivalent(a: SipUri, b: SipUri) -> bool:
    """RFC 3261 §19.1.4 URI comparison (user and password case-sensitive, host and parameter
    names case-insensitive, default ports not implied, headers compared as a set)."""
    if a.scheme != b.scheme or a.user != b.user or a.password != b.password:
        return False
    if a.host.lower() != b.host.lower() or a.port != b.port:
        return False
    pa = {k.lower(): (v.lower() if v is not None else None) for k, v in a.params}
    pb = {k.lower(): (v.lower() if v is not None else None) for k, v in b.params}
    for name in _SIGNIFICANT_PARAMS:
        if (name in pa or name in pb) and pa.get(name) != pb.get(name):
            return False
    for name in pa.keys() & pb.keys():
        if pa[name] != pb[name]:
            return False
    return set(a.headers) == set(b.headers)
