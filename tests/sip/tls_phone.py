"""A hand-written SIP phone over TLS for the tests: one connection, messages framed by Content-Length."""

from __future__ import annotations

import asyncio
import secrets
import ssl
from collections.abc import Sequence
from pathlib import Path

from nuage.sip.digest import authorization_header
from nuage.sip.message import SipRequest, SipResponse, parse_message

SRTP_KEY = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyAoc2luZ2xlIHNl"


def offer(*, protocol: str = "RTP/SAVP", keys: bool = True, port: int = 40000) -> str:
    """An audio offer; with SDES keys by default (``RTP/AVP`` with keys: SRTP if the callee can)."""
    lines = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=audio {port} {protocol} 0",
        "a=rtpmap:0 PCMU/8000",
    ]
    if keys:
        lines.append(f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 {SRTP_KEY}")
    return "\r\n".join(lines) + "\r\n"


def trusting(certificate: Path) -> ssl.SSLContext:
    """A client context that trusts exactly ``certificate`` (and checks it names the host)."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=certificate)


class TlsPhone:
    """A phone on one TLS connection to the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, user: str) -> None:
        self.reader = reader
        self.writer = writer
        self.user = user
        self.port = int(writer.get_extra_info("sockname")[1])

    @classmethod
    async def connect(cls, port: int, certificate: Path, user: str) -> TlsPhone:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=trusting(certificate), server_hostname="127.0.0.1"
        )
        return cls(reader, writer, user)

    def close(self) -> None:
        self.writer.close()

    def send(self, data: str) -> None:
        self.writer.write(data.encode())

    async def message(self, timeout: float = 5.0) -> SipRequest | SipResponse:
        async with asyncio.timeout(timeout):
            head = await self.reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() in (b"content-length", b"l"):
                    length = int(value.strip())
            body = await self.reader.readexactly(length) if length else b""
        return parse_message(head + body, datagram=False)

    async def response(self, timeout: float = 5.0) -> SipResponse:
        """The next final or ringing response (100 Trying skipped)."""
        while True:
            message = await self.message(timeout)
            assert isinstance(message, SipResponse), message
            if message.status != 100:
                return message

    async def incoming_request(self, timeout: float = 5.0) -> SipRequest:
        message = await self.message(timeout)
        assert isinstance(message, SipRequest), message
        return message

    def request(
        self,
        method: str,
        uri: str,
        *,
        call_id: str,
        cseq: int = 1,
        to_user: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        body: str = "",
    ) -> str:
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/TLS 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(6)};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@nuage.local>;tag=tls{self.port}",
            f"To: <sip:{to_user or self.user}@nuage.local>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{self.user}@127.0.0.1:{self.port};transport=tls>",
            *(f"{name}: {value}" for name, value in headers),
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        return "\r\n".join(lines)

    def reply(self, request: SipRequest, status: int, reason: str, *, body: str = "") -> str:
        """A response to ``request`` (a To tag added), sent back on the connection."""
        lines = [f"SIP/2.0 {status} {reason}"]
        for name in ("via", "from", "call-id", "cseq"):
            lines += [f"{name}: {value}" for value in request.headers.get_all(name)]
        lines.append(f"To: {request.headers.get('to')};tag=callee{self.port}")
        lines.append(f"Contact: <sip:{self.user}@127.0.0.1:{self.port};transport=tls>")
        if body:
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        return "\r\n".join(lines)

    async def authenticated(
        self,
        method: str,
        uri: str,
        password: str,
        *,
        call_id: str,
        body: str = "",
        to_user: str | None = None,
    ) -> SipResponse:
        """Send ``method``, answer its digest challenge, return the next response after that."""
        headers: list[tuple[str, str]] = [("Expires", "300")] if method == "REGISTER" else []
        self.send(self.request(method, uri, call_id=call_id, headers=headers, body=body, to_user=to_user))
        challenge = await self.response()
        assert challenge.status in (401, 407), challenge.status
        field = "www-authenticate" if challenge.status == 401 else "proxy-authenticate"
        auth = authorization_header(
            challenge.headers.get(field) or "", username=self.user, password=password, method=method, uri=uri
        )
        header = "Authorization" if challenge.status == 401 else "Proxy-Authorization"
        self.send(
            self.request(
                method,
                uri,
                call_id=call_id,
                cseq=2,
                headers=[*headers, (header, auth)],
                body=body,
                to_user=to_user,
            )
        )
        return await self.response()
