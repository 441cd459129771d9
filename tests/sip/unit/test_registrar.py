"""Registrar logic (RFC 3261 §10.3) driven through real transactions on a fake transport."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from nuage.shared.clock import FrozenClock
from nuage.sip.digest import DigestAuthenticator, authorization_header
from nuage.sip.memory import MemoryBindingStore, MemoryCredentialStore
from nuage.sip.message import SipRequest, SipResponse, parse_message
from nuage.sip.ports import SipAccount
from nuage.sip.registrar import Registrar
from nuage.sip.timers import Timers
from nuage.sip.transaction_layer import TransactionLayer
from nuage.sip.transactions import ServerTransaction
from nuage.sip.transport import Address

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PHONE = Address("UDP", "192.0.2.10", 5062)
ALICE = SipAccount("dev-a", "acc-1", "usr-a", "alice", "secret")


class FakeTransport:
    name = "UDP"
    reliable = False
    local = Address("UDP", "127.0.0.1", 5060)

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes, destination: Address) -> None:
        self.sent.append(data)

    def close(self) -> None:
        pass


class Collector:
    def __init__(self) -> None:
        self.requests: list[ServerTransaction] = []

    def on_request(self, transaction: ServerTransaction) -> None:
        self.requests.append(transaction)

    def on_ack(self, request: SipRequest, source: Address) -> None:
        pass

    def on_cancel(self, invite: ServerTransaction) -> None:
        pass

    def on_stray_response(self, response: SipResponse, source: Address) -> None:
        pass


class Rig:
    def __init__(self, store: MemoryBindingStore | None = None) -> None:
        self.clock = FrozenClock(T0)
        self.store = store or MemoryBindingStore()
        self.auth = DigestAuthenticator("nuage.local")
        self.registrar = Registrar(MemoryCredentialStore([ALICE]), self.store, self.auth, self.clock)
        self.collector = Collector()
        self.layer = TransactionLayer(self.collector, Timers(t1=0.01), asyncio.get_running_loop())
        self.transport = FakeTransport()
        self.cseq = 0

    async def register(self, contacts: list[str], expires: str | None = "300") -> SipResponse:
        nonce_response = await self._send(contacts, expires, None)
        assert nonce_response.status == 401
        challenge = nonce_response.headers.get("www-authenticate") or ""
        auth = authorization_header(
            challenge, username="alice", password="secret", method="REGISTER", uri="sip:nuage.local"
        )
        return await self._send(contacts, expires, auth)

    async def _send(self, contacts: list[str], expires: str | None, auth: str | None) -> SipResponse:
        self.cseq += 1
        lines = [
            "REGISTER sip:nuage.local SIP/2.0",
            f"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKreg{self.cseq};rport",
            "From: <sip:alice@nuage.local>;tag=r1",
            "To: <sip:alice@nuage.local>",
            "Call-ID: reg-call",
            f"CSeq: {self.cseq} REGISTER",
            *(f"Contact: {c}" for c in contacts),
        ]
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if auth:
            lines.append(f"Authorization: {auth}")
        request = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
        self.layer.receive(request, PHONE, self.transport)
        await self.registrar.handle(self.collector.requests[-1])
        response = parse_message(self.transport.sent[-1])
        assert isinstance(response, SipResponse)
        return response


async def test_the_challenge_and_the_200_carry_a_to_tag_of_the_registrar() -> None:
    """RFC 3261 §8.2.6.2: a UAS adds a tag to the To of every response but a 100."""
    rig = Rig()
    challenge = await rig._send(["<sip:alice@192.0.2.10:5062>"], "300", None)
    assert challenge.status == 401
    assert challenge.to_tag
    response = await rig.register(["<sip:alice@192.0.2.10:5062>"])
    assert response.status == 200
    assert response.to_tag
    assert response.to_addr.uri.user == "alice"


async def test_a_challenge_is_sent_statelessly_and_a_retransmission_challenged_anew() -> None:
    """RFC 3261 §8.2.7 (issue #22): a REGISTER without credentials leaves no transaction behind;
    sent again (the 401 lost), it gets a challenge of its own."""
    rig = Rig()
    data = (
        b"REGISTER sip:nuage.local SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKsame;rport\r\n"
        b"From: <sip:alice@nuage.local>;tag=r1\r\nTo: <sip:alice@nuage.local>\r\n"
        b"Call-ID: reg-call\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@192.0.2.10:5062>\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    nonces = []
    for _ in range(2):
        rig.layer.receive(parse_message(data), PHONE, rig.transport)
        assert rig.registrar.challenge_now(rig.collector.requests[-1])
        assert rig.layer.counts == (0, 0)
        challenge = parse_message(rig.transport.sent[-1])
        assert isinstance(challenge, SipResponse)
        assert challenge.status == 401
        nonces.append(challenge.headers.get("www-authenticate"))
    assert len(rig.collector.requests) == 2  # the second was a new request, not a retransmission
    assert nonces[0] != nonces[1]


async def test_several_contacts_per_device_best_q_first() -> None:
    rig = Rig()
    response = await rig.register(["<sip:alice@192.0.2.10:5062>;q=0.5", "<sip:alice@192.0.2.11:5062>;q=0.9"])
    assert response.status == 200
    assert len(response.contacts) == 2
    contacts = [b.contact for b in rig.registrar.contacts("dev-a")]
    assert contacts == ["sip:alice@192.0.2.11:5062", "sip:alice@192.0.2.10:5062"]
    assert {b.source_host for b in rig.registrar.contacts("dev-a")} == {"192.0.2.10"}  # the flow it came from


async def test_expiry_is_capped_and_bindings_expire() -> None:
    rig = Rig()
    await rig.register(["<sip:alice@192.0.2.10:5062>"], expires="999999")
    (binding,) = rig.registrar.contacts("dev-a")
    assert binding.expires_at == T0 + timedelta(seconds=7200)
    rig.clock.advance(timedelta(seconds=7201))
    assert rig.registrar.contacts("dev-a") == []
    assert await rig.registrar.purge_expired() == 1
    assert rig.store.bindings == {}


async def test_wildcard_unregister_needs_expires_zero() -> None:
    rig = Rig()
    await rig.register(["<sip:alice@192.0.2.10:5062>", "<sip:alice@192.0.2.11:5062>"])
    assert (await rig.register(["*"], expires="60")).status == 400
    assert (await rig.register(["*"], expires="0")).status == 200
    assert rig.registrar.registrations() == []


async def test_a_restart_reloads_live_bindings_and_drops_expired_ones() -> None:
    rig = Rig()
    await rig.register(
        ["<sip:alice@192.0.2.10:5062>;expires=100", "<sip:alice@192.0.2.11:5062>;expires=3000"]
    )
    restarted = Rig(store=rig.store)
    restarted.clock.advance(timedelta(seconds=200))
    assert await restarted.registrar.load() == 1
    assert [b.contact for b in restarted.registrar.contacts("dev-a")] == ["sip:alice@192.0.2.11:5062"]
    assert len(rig.store.bindings) == 1


async def test_query_without_contact_lists_current_bindings() -> None:
    rig = Rig()
    await rig.register(["<sip:alice@192.0.2.10:5062>"])
    response = await rig.register([], expires=None)
    assert response.status == 200
    assert [str(c.uri) for c in response.contacts] == ["sip:alice@192.0.2.10:5062"]
