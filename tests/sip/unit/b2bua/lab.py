"""A B2BUA on in-memory ports, an in-memory network and virtual time, with peers a test plays.

The server is the real ``SipServer`` (transactions, registrar, admission, controller, legs);
its transport is a ``MemoryTransport``, its timers and its clock a ``VirtualScheduler``, its
credentials, dial plan, bindings and CDR sink the in-memory ports of ``nuage.sip.memory``.
The carrier's gateway and the phones are endpoints of the same network that keep what they
receive; the test answers for them with the project's own message and dialog code.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from nuage.sip import SipServer, SipSettings
from nuage.sip.accounting import CdrWriter
from nuage.sip.dialogs import Dialog
from nuage.sip.identifiers import new_branch, new_tag
from nuage.sip.memory import (
    MemoryBindingStore,
    MemoryCallJournalStore,
    MemoryCdrSink,
    MemoryCredentialStore,
    MemoryDialPlan,
)
from nuage.sip.memory_transport import MemoryNetwork, MemoryTransport
from nuage.sip.message import Headers, SipRequest, SipResponse, SipUri, make_response
from nuage.sip.ports import (
    Binding,
    CallPolicy,
    CarrierTrunk,
    CdrRecord,
    DeviceDestination,
    SipAccount,
    UserDestination,
)
from nuage.sip.routing import MemoryRouting
from nuage.sip.timers import VirtualScheduler
from nuage.sip.transport import Address
from waiting import wait_for_condition

DOMAIN = "nuage.test"
SERVER = Address("UDP", "192.0.2.10", 5060)
CARRIER = CarrierTrunk("trunk-carrier", "192.0.2.1", 5060)
BOB = SipAccount("dev-bob", "acc-1", "usr-bob", "bob", "bob-secret", "Bob", "+3222222222")
BOB_DESK = SipAccount("dev-bob-desk", "acc-1", "usr-bob", "bobdesk", "desk-secret", "Bob desk")
CAROL = SipAccount("dev-carol", "acc-1", "usr-carol", "carol", "carol-secret", "Carol")
PHONES = {BOB.device_id: "10.0.0.2", BOB_DESK.device_id: "10.0.0.3", CAROL.device_id: "10.0.0.4"}

BOB_ALL = "+3223333333"  # rings both of Bob's phones
BOB_DESK_ONLY = "+3224444444"  # rings Bob's desk phone only
CAROL_ONLY = "+3225555555"
NOBODY = "+3226666666"  # a device that never registered

CAROL_ROUTE = DeviceDestination(CAROL.device_id, "acc-1")


def sdp(host: str, port: int) -> bytes:
    """A one-stream audio offer or answer."""
    return (
        f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    ).encode()


Message = SipRequest | SipResponse


class Peer:
    """An endpoint of the network a test speaks for: keeps what it receives, sends what it is told."""

    def __init__(self, network: MemoryNetwork, host: str, port: int = 5060) -> None:
        self.transport: MemoryTransport = network.endpoint(host, port)
        self.address = self.transport.local
        self._taken: set[int] = set()

    def _find(self, predicate: Callable[[Message], bool]) -> Message | None:
        for index, message in enumerate(self.transport.received):
            if index not in self._taken and predicate(message):
                self._taken.add(index)
                return message
        return None

    async def request(self, method: str) -> SipRequest:
        """The next ``method`` request received (waits for it)."""
        message = await self._expect(lambda m: isinstance(m, SipRequest) and m.method == method, method)
        assert isinstance(message, SipRequest)
        return message

    async def response(self, status: int, method: str = "INVITE") -> SipResponse:
        """The next ``status`` response to a ``method`` received (waits for it)."""

        def matches(message: Message) -> bool:
            return (
                isinstance(message, SipResponse)
                and message.status == status
                and message.cseq.method == method
            )

        message = await self._expect(matches, f"{status} to {method}")
        assert isinstance(message, SipResponse)
        return message

    async def _expect(self, predicate: Callable[[Message], bool], what: str) -> Message:
        found: list[Message] = []

        def arrived() -> bool:
            message = self._find(predicate)
            if message is not None:
                found.append(message)
            return bool(found)

        await wait_for_condition(arrived, timeout=10, what=f"{what} at {self.address}")
        return found[0]

    def unread(self, method_or_status: str | int) -> list[Message]:
        """Messages received and not yet taken that are this request or this status."""
        return [
            m
            for i, m in enumerate(self.transport.received)
            if i not in self._taken
            and (m.method if isinstance(m, SipRequest) else m.status) == method_or_status
        ]

    def send(self, message: Message, to: Address = SERVER) -> None:
        self.transport.send(message.to_bytes(), to)

    def reply(
        self,
        request: SipRequest,
        status: int,
        *,
        to_tag: str | None = None,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
    ) -> SipResponse:
        """Answer ``request`` as a UAS (with our Contact and, with a body, its type)."""
        extra = [*headers, ("contact", f"<sip:peer@{self.address.host}:{self.address.port}>")]
        if body:
            extra.append(("content-type", "application/sdp"))
        response = make_response(request, status, to_tag=to_tag, body=body, headers=extra)
        self.send(response)
        return response

    def dialog_as_callee(self, invite: SipRequest, to_tag: str) -> Dialog:
        """The dialog a phone holds once it answered ``invite`` with ``to_tag``."""
        return Dialog.as_uas(invite, to_tag, SERVER, (self.address.host, self.address.port))

    def invite(self, dialled: str, *, headers: Sequence[tuple[str, str]] = ()) -> SipRequest:
        """A new INVITE from this peer to ``dialled`` at the server, with an audio offer (sent)."""
        host, port = self.address.host, self.address.port
        out = Headers()
        out.add("via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
        out.add("max-forwards", "70")
        out.add("from", f"<sip:+3211111111@{host}>;tag={new_tag()}")
        out.add("to", f"<sip:{dialled}@{DOMAIN}>")
        out.add("call-id", secrets.token_hex(8))
        out.add("cseq", "1 INVITE")
        out.add("contact", f"<sip:peer@{host}:{port}>")
        for name, value in headers:
            out.add(name, value)
        out.add("content-type", "application/sdp")
        request = SipRequest("INVITE", SipUri("sip", SERVER.host, user=dialled, port=SERVER.port), out)
        request.body = sdp(host, 20000)
        self.send(request)
        return request

    def cancel(self, invite: SipRequest) -> None:
        """CANCEL ``invite`` (§9.1: same branch, same CSeq number)."""
        out = Headers()
        for name in ("via", "from", "to", "call-id"):
            out.add(name, invite.headers.get(name) or "")
        out.add("cseq", f"{invite.cseq.number} CANCEL")
        out.add("max-forwards", "70")
        self.send(SipRequest("CANCEL", invite.uri, out))

    def ack_error(self, invite: SipRequest, response: SipResponse) -> None:
        """ACK a non-2xx final response (§17.1.1.3: the INVITE's branch, the response's To)."""
        out = Headers()
        for name in ("via", "from", "call-id"):
            out.add(name, invite.headers.get(name) or "")
        out.add("to", response.headers.get("to") or "")
        out.add("cseq", f"{invite.cseq.number} ACK")
        out.add("max-forwards", "70")
        self.send(SipRequest("ACK", invite.uri, out))

    def dialog_as_caller(self, invite: SipRequest, answer: SipResponse) -> Dialog:
        """The dialog the caller holds once ``answer`` (a 2xx) came."""
        return Dialog.as_uac(invite, answer, SERVER, (self.address.host, self.address.port))

    def send_in_dialog(
        self, dialog: Dialog, method: str, *, cseq: int | None = None, body: bytes = b""
    ) -> SipRequest:
        """Send a request inside ``dialog`` (ACK with the INVITE's ``cseq``)."""
        request = dialog.create_request(
            method, transport="UDP", cseq=cseq, body=body, content_type="application/sdp" if body else None
        )
        if method == "INVITE":
            request.headers.add("contact", f"<sip:peer@{self.address.host}:{self.address.port}>")
        self.send(request, dialog.destination())
        return request


@dataclass
class B2buaLab:
    """The server, its ports, the network, the virtual clock and the peers."""

    server: SipServer
    clock: VirtualScheduler
    network: MemoryNetwork
    cdrs: MemoryCdrSink
    carrier: Peer
    phones: dict[str, Peer] = field(default_factory=dict)

    async def cdrs_written(self, count: int) -> list[CdrRecord]:
        """Wait until ``count`` CDRs reached the sink (they are written in the background)."""
        await wait_for_condition(lambda: len(self.cdrs.records) >= count, timeout=10, what=f"{count} CDRs")
        return self.cdrs.records

    async def settle(self) -> None:
        """Wait until every datagram sent has been delivered and handled."""
        await wait_for_condition(lambda: self.network.in_flight == 0, timeout=10, what="a quiet network")

    async def advance(self, seconds: float) -> None:
        """Let the network settle, then move the virtual time on: the SIP timers due fire, in order."""
        await self.settle()
        self.clock.advance(seconds)


@asynccontextmanager
async def b2bua_lab(
    policy: CallPolicy,
    *,
    no_answer_timeout_s: float = 60.0,
    max_call_duration_s: float | None = 4 * 3600.0,
    journal: MemoryCallJournalStore | None = None,
    clock: VirtualScheduler | None = None,
    routing: MemoryRouting | None = None,
    plan: Callable[[MemoryDialPlan], None] | None = None,
    on_ended: Callable[[CdrRecord], None] | None = None,
) -> AsyncIterator[B2buaLab]:
    """Start a server on the in-memory network with Bob's two phones and Carol's registered.

    With a ``journal`` the server journals its calls there (as node ``node-a``) and writes its CDRs
    to the journal's sink; a lab started again on the same journal is the node's next life."""
    clock = clock or VirtualScheduler()
    network = MemoryNetwork()
    credentials = MemoryCredentialStore([BOB, BOB_DESK, CAROL])
    dial_plan = MemoryDialPlan(credentials, carrier=CARRIER)
    dial_plan.numbers[BOB_ALL] = UserDestination("usr-bob", "acc-1", (BOB.device_id, BOB_DESK.device_id))
    dial_plan.numbers[BOB_DESK_ONLY] = DeviceDestination(BOB_DESK.device_id, "acc-1")
    dial_plan.numbers[CAROL_ONLY] = CAROL_ROUTE
    dial_plan.numbers[NOBODY] = DeviceDestination("dev-nobody", "acc-1")
    if plan is not None:
        plan(dial_plan)
    bindings = MemoryBindingStore()
    phones = {}
    for account in (BOB, BOB_DESK, CAROL):
        host = PHONES[account.device_id]
        phones[account.device_id] = Peer(network, host)
        await bindings.upsert(
            Binding(
                device_id=account.device_id,
                username=account.username,
                contact=f"sip:{account.username}@{host}:5060",
                expires_at=clock.now() + timedelta(days=1),
                call_id=secrets.token_hex(4),
                cseq=1,
                source_transport="UDP",
                source_host=host,
                source_port=5060,
                registered_at=clock.now(),
            )
        )
    cdrs = journal.cdrs if journal is not None else MemoryCdrSink()
    settings = SipSettings(
        listen_host=SERVER.host,
        listen_port=SERVER.port,
        transports=("UDP",),
        realm=DOMAIN,
        no_answer_timeout_s=no_answer_timeout_s,
        max_call_duration_s=max_call_duration_s,
        cdr_batch_size=1,
        node_id="node-a",
    )
    server = SipServer(
        settings,
        credentials=credentials,
        dial_plan=dial_plan,
        bindings=bindings,
        policy=policy,
        cdr_sink=cdrs,
        clock=clock,
        scheduler=clock,
        binder=network.bind,
        journal_store=journal,
        routing=routing,
    )
    if on_ended is not None:
        server.cdr_writer = CdrWriter(cdrs, batch_size=1, on_ended=on_ended)
    await server.start()
    try:
        yield B2buaLab(server, clock, network, cdrs, Peer(network, CARRIER.host, CARRIER.port), phones)
    finally:
        await server.stop(grace_s=0)
