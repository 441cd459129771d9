"""Hand-driven phones for the transfer tests: raw SIP signalling (kept until read, in any order) and
an RTP peer each, calling through Nuage with digest."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from media.peers import Peer, sdp
from media.test_anchoring import heard
from nuage.sip.digest import authorization_header
from nuage.sip.message import SipRequest, SipResponse, make_response, parse_message
from sip.harness import RawUdpPhone

Message = SipRequest | SipResponse


class Wire:
    """A hand-driven phone (signalling on a raw socket, media on a Peer) that keeps what it has not
    read yet, so requests and responses may come in any order."""

    def __init__(self, sip: RawUdpPhone, rtp: Peer, user: str) -> None:
        self.sip, self.rtp, self.user = sip, rtp, user
        self.pending: list[Message] = []

    @classmethod
    async def start(cls, user: str) -> Wire:
        return cls(RawUdpPhone(), await Peer.start(), user)

    def close(self) -> None:
        self.sip.close()
        self.rtp.close()

    async def next(self, wanted: Callable[[Message], bool], what: str, timeout: float = 15.0) -> Message:
        async with asyncio.timeout(timeout):
            while True:
                for message in self.pending:
                    if wanted(message):
                        self.pending.remove(message)
                        return message
                try:
                    self.pending.append(parse_message(await self.sip.receive(timeout)))
                except TimeoutError:
                    raise AssertionError(f"{self.user} got no {what}") from None

    async def request(self, method: str) -> SipRequest:
        message = await self.next(lambda m: isinstance(m, SipRequest) and m.method == method, method)
        assert isinstance(message, SipRequest)
        return message

    async def response(self, method: str, status: int | None = None) -> SipResponse:
        """The next response to ``method`` from 180 on (``status``: the one wanted). For a request
        other than INVITE (whose final responses come once, the tests sending it once) another final
        status fails at once, saying what came instead of waiting for the one wanted."""
        strict = status is not None and method != "INVITE"

        def wanted(m: Message) -> bool:
            return (
                isinstance(m, SipResponse)
                and m.cseq.method == method
                and m.status >= 180
                and (status is None or m.status == status or (strict and m.status >= 200))
            )

        message = await self.next(wanted, f"{status or 'final'} to {method}")
        assert isinstance(message, SipResponse)
        assert status is None or message.status == status, (
            f"{self.user} got {message.status} {message.reason} to {method}, not {status}"
            f" (Warning: {message.headers.get('warning')})"
        )
        return message

    def answer(
        self, request: SipRequest, status: int = 200, *, tag: str | None = None, body: bytes = b""
    ) -> None:
        response = make_response(request, status, to_tag=tag, body=body)
        response.headers.add("contact", f"<sip:{self.user}@127.0.0.1:{self.sip.port}>")
        if body:
            response.headers.add("content-type", "application/sdp")
        self.sip.send(response.to_bytes(), self._server)

    _server = 0


async def call_out(
    port: int, phone: Wire, dialled: str, password: str, call_id: str
) -> tuple[SipResponse, int]:
    """``phone`` calls ``dialled`` through Nuage (digest), with its own SDP; (the 200, the INVITE's CSeq)."""
    uri = f"sip:{dialled}@127.0.0.1:{port}"
    offer = sdp(phone.rtp.port, "7").decode()
    sip = phone.sip
    sip.send(sip.request("INVITE", uri, user=phone.user, to_user=dialled, call_id=call_id, body=offer), port)
    challenge = await phone.response("INVITE", 407)
    sip.send(
        sip.request(
            "ACK", uri, user=phone.user, to_user=dialled, call_id=call_id, to_tag=challenge.to_addr.tag
        ),
        port,
    )
    auth = authorization_header(
        challenge.headers.get("proxy-authenticate") or "",
        username=phone.user,
        password=password,
        method="INVITE",
        uri=uri,
    )
    headers = [("Proxy-Authorization", auth), ("Content-Type", "application/sdp")]
    sip.send(
        sip.request(
            "INVITE",
            uri,
            user=phone.user,
            to_user=dialled,
            call_id=call_id,
            cseq=2,
            headers=headers,
            body=offer,
        ),
        port,
    )
    ok = await phone.response("INVITE", 200)
    sip.send(
        sip.request(
            "ACK", uri, user=phone.user, to_user=dialled, call_id=call_id, cseq=2, to_tag=ok.to_addr.tag
        ),
        port,
    )
    return ok, 2


@contextlib.asynccontextmanager
async def wires(
    port: int, *users: tuple[str, str], unregistered: tuple[str, ...] = ("alice",)
) -> AsyncIterator[list[Wire]]:
    """Phones for ``users`` (name, password), registered with Nuage but those ``unregistered``."""
    phones = [await Wire.start(user) for user, _ in users]
    try:
        for phone, (user, password) in zip(phones, users, strict=True):
            phone._server = port
            if user not in unregistered:
                assert await phone.sip.register(port, user, password) == 200
        yield phones
    finally:
        for phone in phones:
            phone.close()


def spoke(phone: Wire, hz: float) -> bool:
    return len(phone.rtp.received) >= 40 and heard(phone.rtp.audio()[-4000:], hz)
