"""SDP (RFC 4566) session descriptions: parse offers and answers, serialise them back.

The B2BUA passes SDP end to end today; it parses it to check offers are well formed and to
log what media a call uses, and a media anchor will rewrite connection addresses later.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nuage.sip.message.errors import SipParseError

_ORDER_SESSION = "vosiuepcbtrzka"


@dataclass(frozen=True, slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>``."""

    username: str
    session_id: str
    session_version: int
    net_type: str
    address_type: str
    address: str

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.net_type} {self.address_type} {self.address}"
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=<nettype> <addrtype> <connection-address>``."""

    net_type: str
    address_type: str
    address: str

    def __str__(self) -> str:
        return f"{self.net_type} {self.address_type} {self.address}"


@dataclass(frozen=True, slots=True)
class Media:
    """One ``m=`` section with its own lines (c=, b=, a=...)."""

    kind: str
    port: int
    port_count: int | None
    protocol: str
    formats: tuple[str, ...]
    connection: Connection | None = None
    lines: tuple[tuple[str, str], ...] = ()  # other lines, in order (b=, a=, i=, k=)

    def attributes(self, name: str) -> list[str]:
        """Values of ``a=name:value`` (or '' for a flag) in this section."""
        out = []
        for key, value in self.lines:
            if key != "a":
                continue
            attr, _, rest = value.partition(":")
            if attr == name:
                out.append(rest)
        return out

    @property
    def direction(self) -> str:
        """sendrecv, sendonly, recvonly or inactive (default sendrecv)."""
        for key, value in self.lines:
            if key == "a" and value in ("sendrecv", "sendonly", "recvonly", "inactive"):
                return value
        return "sendrecv"

    @property
    def rtpmap(self) -> dict[str, str]:
        """Payload type -> ``encoding/clock[/channels]``."""
        out = {}
        for value in self.attributes("rtpmap"):
            payload, _, encoding = value.partition(" ")
            out[payload] = encoding.strip()
        return out


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A parsed SDP body."""

    version: int
    origin: Origin
    session_name: str
    connection: Connection | None
    times: tuple[str, ...]
    lines: tuple[tuple[str, str], ...] = ()  # other session-level lines, in order
    media: tuple[Media, ...] = field(default=())

    @classmethod
    def parse(cls, body: bytes | str) -> SessionDescription:
        """Parse an SDP body; raise SipParseError with a reason when it is malformed."""
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        raw_lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
        if not raw_lines or not raw_lines[0].startswith("v="):
            raise SipParseError("SDP must start with v=")
        version_text = raw_lines[0][2:].strip()
        if version_text != "0":
            raise SipParseError("unsupported SDP version")
        origin: Origin | None = None
        session_name: str | None = None
        connection: Connection | None = None
        times: list[str] = []
        session_lines: list[tuple[str, str]] = []
        media: list[Media] = []
        current: dict[str, object] | None = None
        current_lines: list[tuple[str, str]] = []

        def close_media() -> None:
            if current is not None:
                media.append(
                    Media(
                        kind=str(current["kind"]),
                        port=int(str(current["port"])),
                        port_count=current["port_count"],  # type: ignore[arg-type]
                        protocol=str(current["protocol"]),
                        formats=current["formats"],  # type: ignore[arg-type]
                        connection=current.get("connection"),  # type: ignore[arg-type]
                        lines=tuple(current_lines),
                    )
                )

        for line in raw_lines[1:]:
            if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
                raise SipParseError(f"bad SDP line {line[:40]!r}")
            key, value = line[0], line[2:].strip()
            if key == "m":
                close_media()
                current_lines = []
                parts = value.split()
                if len(parts) < 4:
                    raise SipParseError("bad m= line")
                port_text, _, count_text = parts[1].partition("/")
                bad_count = bool(count_text) and not count_text.isdigit()
                if not port_text.isdigit() or int(port_text) > 65535 or bad_count:
                    raise SipParseError("bad m= port")
                current = {
                    "kind": parts[0],
                    "port": port_text,
                    "port_count": int(count_text) if count_text else None,
                    "protocol": parts[2],
                    "formats": tuple(parts[3:]),
                }
            elif current is not None:
                if key == "c":
                    current["connection"] = _parse_connection(value)
                else:
                    current_lines.append((key, value))
            elif key == "o":
                parts = value.split()
                if len(parts) != 6 or not parts[2].isdigit():
                    raise SipParseError("bad o= line")
                origin = Origin(parts[0], parts[1], int(parts[2]), parts[3], parts[4], parts[5])
            elif key == "s":
                session_name = value
            elif key == "c":
                connection = _parse_connection(value)
            elif key == "t":
                times.append(value)
            else:
                session_lines.append((key, value))
        close_media()
        if origin is None:
            raise SipParseError("SDP without o=")
        if session_name is None:
            session_name = "-"  # lenient: some phones omit s=
        if not times:
            times = ["0 0"]
        for section in media:
            if section.connection is None and connection is None and section.port != 0:
                raise SipParseError("SDP media without c=")
        return cls(0, origin, session_name, connection, tuple(times), tuple(session_lines), tuple(media))

    def to_bytes(self) -> bytes:
        """Serialise with CRLF line ends, in the order RFC 4566 §5 requires."""
        out = [f"v={self.version}", f"o={self.origin}", f"s={self.session_name}"]
        before_c = [f"{k}={v}" for k, v in self.lines if k in "iuep"]
        out.extend(before_c)
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out.extend(f"{k}={v}" for k, v in self.lines if k == "b")
        out.extend(f"t={t}" for t in self.times)
        out.extend(f"{k}={v}" for k, v in self.lines if k not in "iuepb")
        for section in self.media:
            count = f"/{section.port_count}" if section.port_count is not None else ""
            formats = " ".join(section.formats)
            out.append(f"m={section.kind} {section.port}{count} {section.protocol} {formats}")
            out.extend(f"{k}={v}" for k, v in section.lines if k == "i")
            if section.connection is not None:
                out.append(f"c={section.connection}")
            out.extend(f"{k}={v}" for k, v in section.lines if k != "i")
        return ("\r\n".join(out) + "\r\n").encode()

    def with_connection_address(self, address: str) -> SessionDescription:
        """A copy whose session and media connections point at ``address`` (media anchoring)."""
        address_type = "IP6" if ":" in address else "IP4"
        conn = Connection("IN", address_type, address)
        media = tuple(replace(m, connection=conn) if m.connection is not None else m for m in self.media)
        origin = replace(self.origin, session_version=self.origin.session_version + 1)
        return replace(self, origin=origin, connection=conn, media=media)


def _parse_connection(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise SipParseError("bad c= line")
    return Connection(parts[0], parts[1], parts[2])
