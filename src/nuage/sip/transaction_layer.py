"""The transaction layer (RFC 3261 §17.1.3, §17.2.3): matches messages to transactions.

It owns the live transactions, keyed by branch (RFC 2543 fallback for old peers), answers a
CANCEL (§9.2) and hands what no transaction absorbs to the transaction user: new requests, the
ACK of a 2xx, stray responses. The state machines themselves are ``nuage.sip.transactions``'.

Once a transaction has nothing left to do but absorb or answer retransmissions (timers D, I, J,
K, L, M: up to 32 s), the layer keeps only a slim record of it in place of the object (issue #22):
the bytes to send again and where, or nothing (absorb), or the response handler of an accepted
client INVITE. The records are tuples of strings, bytes and numbers, which the garbage collector
does not track, and they end through one ``ExpiryQueue`` rather than a timer each.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias

from nuage.sip.identifiers import MAGIC_COOKIE
from nuage.sip.message import SipParseError, SipRequest, SipResponse
from nuage.sip.timers import CoarseTimers, ExpiryQueue, Scheduler, Timers
from nuage.sip.transactions import (
    ClientTransaction,
    ResponseHandler,
    ServerTransaction,
    TxState,
)
from nuage.sip.transport import Address, Transport

ServerKey: TypeAlias = tuple[str, ...]
ClientKey: TypeAlias = tuple[str, str]
Resend: TypeAlias = tuple[bytes, int, str, str, int]
"""What a lingering record sends again: the bytes, the transport's index in the layer, its address."""

_SERVER, _CLIENT_DONE, _CLIENT_ACCEPTED = 0, 1, 2


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
        self._server: dict[ServerKey, ServerTransaction] = {}
        self._client: dict[ClientKey, ClientTransaction] = {}
        # the slim records of transactions that only linger (see the module's docstring)
        self._server_done: dict[ServerKey, Resend | None] = {}
        self._client_done: dict[ClientKey, Resend | None] = {}
        self._client_accepted: dict[ClientKey, ResponseHandler | None] = {}
        self._transports: list[Transport] = []
        self._transport_index: dict[int, int] = {}  # id() of a transport kept in _transports -> index
        self._expiry: ExpiryQueue[tuple[int, tuple[str, ...]]] = ExpiryQueue(
            scheduler, self._expire, resolution=min(1.0, timers.t1)
        )

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
            elif key in self._client_accepted:
                if 200 <= message.status < 300:  # retransmitted or forked 2xx (RFC 6026)
                    handler = self._client_accepted[key]
                    if handler is not None:
                        handler(message)
                    else:
                        self.user.on_stray_response(message, source)
            elif key in self._client_done:
                ack = self._client_done[key]
                if ack is not None and message.status >= 300:  # a retransmitted final: ACK again
                    self._resend(ack)
            else:
                self.user.on_stray_response(message, source)
            return
        key_s = self.server_key(message)
        server = self._server.get(key_s)
        if server is not None:
            server.retransmission(message)
            return
        if key_s in self._server_done:
            last = self._server_done[key_s]
            if last is not None and message.method != "ACK":
                self._resend(last)  # §17.2.2: the last response again
            return  # else absorbed: an INVITE after its 2xx (RFC 6026), an ACK after the ACK
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
        invite_key = self.server_key(cancel.request, "INVITE")
        invite = self._server.get(invite_key)
        if invite is None:
            cancel.reply(200 if invite_key in self._server_done else 481)  # answered: nothing to cancel
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

    def forget_server(self, key: ServerKey) -> None:
        """A server transaction ended: stop matching requests to it."""
        self._server.pop(key, None)

    def forget_client(self, key: ClientKey) -> None:
        """A client transaction ended: stop matching responses to it."""
        self._client.pop(key, None)

    def linger_server(
        self, key: ServerKey, delay: float, resend: tuple[bytes, Address, Transport] | None = None
    ) -> None:
        """The server transaction only answers retransmissions now: keep a record, not the object.

        ``resend``: the last response, sent again for each retransmitted request (non-INVITE,
        timer J); None: retransmissions are absorbed (INVITE after its 2xx, timer L; after the
        ACK of an error, timer I).
        """
        self._server.pop(key, None)
        if delay <= 0:
            return
        self._server_done[key] = self._record(resend)
        self._expiry.add(delay, (_SERVER, key))

    def linger_client(
        self, key: ClientKey, delay: float, resend: tuple[bytes, Address, Transport] | None = None
    ) -> None:
        """The client transaction completed: ACK retransmitted errors (timer D) or absorb (K)."""
        self._client.pop(key, None)
        if delay <= 0:
            return
        self._client_done[key] = self._record(resend)
        self._expiry.add(delay, (_CLIENT_DONE, key))

    def linger_accepted(self, key: ClientKey, delay: float, handler: ResponseHandler) -> None:
        """The client INVITE got its 2xx: further 2xx go to ``handler`` until timer M."""
        self._client.pop(key, None)
        self._client_accepted[key] = handler
        self._expiry.add(delay, (_CLIENT_ACCEPTED, key))

    def release_accepted(self, key: ClientKey) -> None:
        """The user is done: its accepted INVITE's late 2xx are stray responses from now on."""
        if key in self._client_accepted:
            self._client_accepted[key] = None

    def _record(self, resend: tuple[bytes, Address, Transport] | None) -> Resend | None:
        if resend is None:
            return None
        data, destination, transport = resend
        index = self._transport_index.get(id(transport))
        if index is None:  # the list keeps it alive, so its id() names it for good
            index = self._transport_index[id(transport)] = len(self._transports)
            self._transports.append(transport)
        return (data, index, destination.transport, destination.host, destination.port)

    def _resend(self, record: Resend) -> None:
        data, index, name, host, port = record
        self._transports[index].send(data, Address(name, host, port))

    def _expire(self, entry: tuple[int, tuple[str, ...]]) -> None:
        kind, key = entry
        if kind == _SERVER:
            self._server_done.pop(key, None)
        elif kind == _CLIENT_DONE:
            self._client_done.pop(key, None)  # type: ignore[arg-type]
        else:
            self._client_accepted.pop(key, None)  # type: ignore[arg-type]

    @property
    def counts(self) -> tuple[int, int]:
        """(server, client) transactions alive or lingering; for introspection and leak tests."""
        return (
            len(self._server) + len(self._server_done),
            len(self._client) + len(self._client_done) + len(self._client_accepted),
        )
