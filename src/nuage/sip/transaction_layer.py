"""The transaction layer (RFC 3261 §17.1.3, §17.2.3): matches messages to transactions.

It owns the live transactions, keyed by branch (RFC 2543 fallback for old peers), answers a
CANCEL (§9.2) and hands what no transaction absorbs to the transaction user: new requests, the
ACK of a 2xx, stray responses. The state machines themselves are ``nuage.sip.transactions``'.
"""

from __future__ import annotations

from typing import Protocol

from nuage.sip.message import SipParseError, SipRequest, SipResponse
from nuage.sip.timers import CoarseTimers, Scheduler, Timers
from nuage.sip.transactions import (
    MAGIC_COOKIE,
    ClientTransaction,
    ResponseHandler,
    ServerTransaction,
    TxState,
)
from nuage.sip.transport import Address, Transport


class TransactionUser(Protocol):
    """The core above the transactions: the server's dispatcher."""

    def on_request(self, transaction: ServerTransaction) -> None:
        """A new request (not a retransmission, not an ACK)."""
        ...

    def on_ack(self, request: SipRequest, source: Address) -> None:
        """An ACK that no transaction absorbed (the ACK of a 2xx)."""
        ...

    def on_cancel(self, invite: ServerTransaction) -> None:
        """The INVITE transaction was cancelled; 200 to the CANCEL is already sent."""
        ...

    def on_stray_response(self, response: SipResponse, source: Address) -> None:
        """A response no client transaction matches (retransmitted 2xx of an INVITE)."""
        ...


class TransactionLayer:
    """Matches messages to transactions (§17.1.3, §17.2.3) and hands the rest to the user."""

    def __init__(self, user: TransactionUser, timers: Timers, scheduler: Scheduler) -> None:
        self.user = user
        self.timers = timers
        self.scheduler = scheduler
        self.coarse = CoarseTimers(scheduler, resolution=min(1.0, timers.t1))
        self._server: dict[tuple[str, ...], ServerTransaction] = {}
        self._client: dict[tuple[str, str], ClientTransaction] = {}

    @staticmethod
    def server_key(request: SipRequest, method: str | None = None) -> tuple[str, ...]:
        """§17.2.3: branch + sent-by + method (ACK matches INVITE); RFC 2543 fallback otherwise."""
        via = request.top_via
        method = method or ("INVITE" if request.method == "ACK" else request.method)
        branch = via.branch or ""
        host, port = via.sent_by
        if branch.startswith(MAGIC_COOKIE):
            return (branch, host, str(port), method)
        to_tag = "" if request.method == "ACK" else (request.to_tag or "")
        return (
            request.call_id,
            request.from_tag or "",
            to_tag,
            str(request.cseq.number),
            str(via),
            method,
        )

    def receive(self, message: SipRequest | SipResponse, source: Address, transport: Transport) -> None:
        """Entry point for every message a transport parsed."""
        if isinstance(message, SipResponse):
            via = message.top_via
            key = (via.branch or "", message.cseq.method)
            client = self._client.get(key)
            if client is not None:
                client.receive(message)
            else:
                self.user.on_stray_response(message, source)
            return
        key_s = self.server_key(message)
        server = self._server.get(key_s)
        if server is not None:
            server.retransmission(message)
            return
        if message.method == "ACK":
            self.user.on_ack(message, source)
            return
        server = ServerTransaction(self, message, source, transport, key_s)
        self._server[key_s] = server
        if message.method == "CANCEL":
            self._cancel(server)
            return
        try:
            self.user.on_request(server)
        except SipParseError as exc:  # a header read by the user was malformed: 400, no state kept
            server.reply(400, exc.reason[:100])

    def _cancel(self, cancel: ServerTransaction) -> None:
        """§9.2: answer the CANCEL, then 487 the INVITE it names if that is still pending."""
        invite = self._server.get(self.server_key(cancel.request, "INVITE"))
        if invite is None:
            cancel.reply(481)
            return
        cancel.reply(200)
        if invite.state is TxState.PROCEEDING and not invite.cancelled:
            invite.cancelled = True
            self.user.on_cancel(invite)

    def send_request(
        self,
        request: SipRequest,
        destination: Address,
        on_response: ResponseHandler,
        *,
        transport: Transport,
    ) -> ClientTransaction:
        """Start a client transaction; the request's top Via must carry a fresh branch."""
        client = ClientTransaction(self, request, destination, transport, on_response)
        self._client[client.key] = client
        client.start()
        return client

    def forget_server(self, key: tuple[str, ...]) -> None:
        """A server transaction ended: stop matching requests to it."""
        self._server.pop(key, None)

    def forget_client(self, key: tuple[str, str]) -> None:
        """A client transaction ended: stop matching responses to it."""
        self._client.pop(key, None)

    @property
    def counts(self) -> tuple[int, int]:
        """(server, client) transactions alive; for introspection and leak tests."""
        return len(self._server), len(self._client)
