"""The SIP server: transports, transactions, registrar and B2BUA behind one object.

server = SipServer(SipSettings(listen_port=0), credentials=..., dial_plan=..., bindings=...,
                   policy=DialPlanPolicy(), cdr_sink=...)
await server.start()        # server.bound_address("UDP") -> Address with the chosen port
...
await server.stop(grace_s=30)
"""

from __future__ import annotations

import asyncio
import logging
import socket

from nuage.directory.widget_tickets import WidgetTickets
from nuage.shared.clock import Clock, SystemClock
from nuage.sip.accounting import CdrWriter
from nuage.sip.b2bua.admission import admit, answer_now
from nuage.sip.b2bua.apps import Applications
from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.legs import ClosedDialog, Leg
from nuage.sip.b2bua.media import MediaServices, drain
from nuage.sip.b2bua.records import CallInfo
from nuage.sip.b2bua.services import CallServices, CallSettings
from nuage.sip.b2bua.transfer import Refused, transfer_live
from nuage.sip.digest import DigestAuthenticator, MemoryNonceCounts, NonceCounts
from nuage.sip.journal import CallJournal, OrphanDialogs, recover
from nuage.sip.message import SipParseError, SipRequest, SipResponse
from nuage.sip.ports import Binding, BindingStore, CallPolicy, CdrSink, CredentialStore, DialPlan, HotDesk
from nuage.sip.ports import CallJournalStore as JournalStore
from nuage.sip.registrar import Registrar
from nuage.sip.resolver import Resolver
from nuage.sip.routing import CallRouting
from nuage.sip.security import Ban, SecurityGuard
from nuage.sip.server_settings import SipSettings
from nuage.sip.sockets import Binder, SocketBinder
from nuage.sip.timers import Cancellable, ExpiryQueue, Scheduler, Timers
from nuage.sip.tls import sips_not_allowed
from nuage.sip.tls_sdes import is_secure
from nuage.sip.transaction_layer import TransactionLayer
from nuage.sip.transactions import ClientTransaction, ResponseHandler, ServerTransaction, TxState
from nuage.sip.transport import Address, Transport
from nuage.sip.voicemail.mwi import MessageWaiting

log = logging.getLogger("nuage.sip.server")

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, REFER, NOTIFY"


class SipServer:
    """Registrar + B2BUA (UDP, TCP, TLS); the transaction user; calls journaled (``nuage.sip.journal``)."""

    def __init__(
        self,
        settings: SipSettings,
        *,
        credentials: CredentialStore,
        dial_plan: DialPlan,
        bindings: BindingStore,
        policy: CallPolicy,
        cdr_sink: CdrSink,
        clock: Clock | None = None,
        hot_desk: HotDesk | None = None,
        scheduler: Scheduler | None = None,
        binder: Binder | None = None,
        nonce_counts: NonceCounts | None = None,
        journal_store: JournalStore | None = None,
        routing: CallRouting | None = None,
    ) -> None:
        """``scheduler``: where timers are set (default: the running loop); ``binder``: how
        transports are bound (default: sockets; ``nuage.sip.memory_transport`` in tests);
        ``journal_store``: where calls in progress are journaled (None: they are not)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.timers = Timers(settings.t1_s, settings.t2_s, settings.t4_s)
        self.authenticator = DigestAuthenticator(
            settings.realm,
            nonce_ttl_s=settings.nonce_ttl_s,
            algorithms=settings.digest_algorithms,
            secret=settings.nonce_secret,
            counts=nonce_counts if nonce_counts is not None else MemoryNonceCounts(settings.nonce_counts_max),
            bind_source=settings.nonce_bind_source,
        )
        self.security = SecurityGuard(settings.security, clock=self.clock)
        self.registrar = Registrar(
            credentials,
            bindings,
            self.authenticator,
            self.clock,
            settings.registrar,
            on_auth_failure=self.security.record_auth_failure,
        )
        self.cdr_writer = CdrWriter(
            cdr_sink, batch_size=settings.cdr_batch_size, flush_interval_ms=settings.cdr_flush_interval_ms
        )
        self._dial_plan = dial_plan
        self._policy = policy
        self._hot_desk = hot_desk
        self._routing = routing  # forwarding, ring groups (issue #15)
        self._transports: dict[str, Transport] = {}
        self._dialogs: dict[tuple[str, str], Leg | ClosedDialog] = {}
        self._calls: dict[int, CallController] = {}
        self._invites: dict[tuple[str, ...], CallController] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = False
        self._contact: dict[str, str] = {}
        self._via: dict[str, tuple[str, int]] = {}
        self._purge: Cancellable | None = None
        self.loop: asyncio.AbstractEventLoop = asyncio.get_event_loop_policy().get_event_loop()
        self._scheduler = scheduler
        self._binder = binder
        self._layer: TransactionLayer | None = None
        self._services: CallServices | None = None
        self._journal_store = journal_store
        self.media: MediaServices | None = None  # the media engine anchored calls use (set before start)
        self.applications = Applications()  # media applications: feature codes, diversion (before start)
        self.mwi: MessageWaiting | None = None  # SUBSCRIBE message-summary (set before start)
        self.widgets: WidgetTickets | None = None  # CFG-10: widget calls' tickets (set before start)
        self.journal: CallJournal | None = None
        self._recovered = False
        keep = settings.max_call_duration_s or 4 * 3600.0
        self.orphans = OrphanDialogs(lambda: self.scheduler.time(), keep_s=keep)

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Load bindings, bind the transports, start accepting requests."""
        self.loop = asyncio.get_running_loop()
        self._layer = TransactionLayer(self, self.timers, self.scheduler)
        self._closed_dialogs = ExpiryQueue(self.scheduler, self.unregister_dialog, min(1.0, self.timers.t1))
        settings = self.settings
        loaded = await self.registrar.load()
        await self.recover()
        for attempt in range(20):
            try:
                await self._bind(settings.listen_port)
                break
            except OSError:
                # port 0: UDP got a free port that TCP cannot have; try another one
                for transport in self._transports.values():
                    transport.close()
                self._transports.clear()
                if settings.listen_port != 0 or attempt == 19:
                    raise
        await self.recover()  # a node named by an OS-chosen port: known only now
        if self._journal_store is not None:
            flush_s = settings.journal_flush_s
            self.journal = CallJournal(
                self._journal_store, self.node or "", self.clock, self.scheduler, flush_s=flush_s
            )
            self.cdr_writer.on_written = self.journal.cdrs_written
            self.journal.start()
        self._services = CallServices(
            host=self,
            registrar=self.registrar,
            dial_plan=self._dial_plan,
            policy=self._policy,
            accounting=self.cdr_writer,
            clock=self.clock,
            settings=CallSettings(
                domain=settings.realm,
                no_answer_timeout_s=settings.no_answer_timeout_s,
                max_call_duration_s=settings.max_call_duration_s,
                max_application_duration_s=settings.max_application_duration_s,
                min_session_expires_s=settings.min_session_expires_s,
            ),
            on_started=self._call_started,
            on_finished=self._call_finished,
            hot_desk=self._hot_desk,
            on_auth_failure=self.security.record_auth_failure,
            journal=self.journal,
            media=self.media,
            applications=self.applications,
            live_calls=self._calls.values,
            routing=self._routing,
            widgets=self.widgets,
        )
        self._accepting = True
        self._purge = self.scheduler.call_later(30, self._purge_bindings)
        log.info("SIP server listening on %s (%d bindings loaded)", self.addresses(), loaded)

    async def _bind(self, port: int) -> None:
        settings = self.settings
        assert self._layer is not None
        receive = self._receive
        binder = self._binder or SocketBinder(self.security.is_banned, Resolver(), settings.tcp, settings.tls)
        names = settings.transports
        if settings.tls is not None and "TLS" not in names:
            names = (*names, "TLS")
        for name in names:
            if name == "TLS" and settings.tls is not None:  # a port of its own (5061)
                transport = await binder(name, settings.listen_host, settings.tls.port, receive)
            else:
                transport = await binder(name, settings.listen_host, port, receive)
                port = transport.local.port  # port 0: the others follow the first one's port
            self._transports[name] = transport
            host = settings.advertised_host or transport.local.host
            host_text = f"[{host}]" if ":" in host else host
            self._via[name] = (host_text, transport.local.port)
            self._contact[name] = f"<sip:nuage@{host_text}:{transport.local.port};transport={name.lower()}>"
            if name == "TLS":  # in a dialog set up with a sips: URI (RFC 5630)
                self._contact["SIPS"] = f"<sips:nuage@{host_text}:{transport.local.port}>"

    async def stop(self, grace_s: float = 30.0) -> None:
        """Refuse new calls (503), let current calls end for up to ``grace_s``, hang up the rest,
        flush the CDRs, close the transports."""
        self._accepting = False
        deadline = self.loop.time() + grace_s
        while self._calls and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for call in list(self._calls.values()):
            call.abort(503, "Service Unavailable")
        await asyncio.sleep(0.05)  # let the BYEs leave
        await asyncio.gather(*self._tasks, drain(), return_exceptions=True)  # drain: media, then CDRs
        await self.cdr_writer.close()
        if self.journal is not None:
            await self.journal.stop()
        if self._purge is not None:
            self._purge.cancel()
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    @property
    def node(self) -> str | None:
        """The name of this node's call journal: ``node_id``, else the machine, host and port it listens
        on (two machines listening on 0.0.0.0:5060 over one database are two nodes)."""
        settings = self.settings
        port = settings.listen_port or (next(iter(self._via.values()))[1] if self._via else 0)
        host = f"{socket.gethostname()}/{settings.advertised_host or settings.listen_host}"
        return settings.node_id or (f"{host}:{port}" if port else None)

    async def recover(self) -> int:
        """Close the calls a previous life of this node lost (once); their BYEs get 200 from now on."""
        node = self.node
        if self._journal_store is None or self._recovered or node is None:
            return 0
        entries = await recover(self._journal_store, node)
        self._recovered = True
        self.orphans.add(entries)
        return len(entries)

    @property
    def accepting(self) -> bool:
        """Whether new calls are taken (False once ``stop()`` has begun: they get 503)."""
        return self._accepting

    def bound_address(self, transport: str = "UDP") -> Address:
        """The address a transport is bound to (with the OS-chosen port when 0 was asked)."""
        return self._transports[transport].local

    def addresses(self) -> list[Address]:
        """Every bound address."""
        return [t.local for t in self._transports.values()]

    # -- introspection ------------------------------------------------------------------------
    def registrations(self) -> list[Binding]:
        """Live registrations."""
        return self.registrar.registrations()

    def calls(self) -> list[CallInfo]:
        """Current calls."""
        return [call.info() for call in self._calls.values()]

    async def transfer(self, call_id: str, target: str, *, keep: str) -> Refused | None:
        """Blind-transfer a live call keeping its ``keep`` party (``nuage.sip.b2bua.transfer``)."""
        return await transfer_live(list(self._calls.values()), call_id, target, keep=keep)

    def bans(self) -> list[Ban]:
        """Source addresses whose messages are dropped now (SIP-5)."""
        return self.security.bans()

    def unban(self, address: str) -> bool:
        """Lift the ban of a source address; False if it was not banned."""
        return self.security.unban(address)

    @property
    def transaction_counts(self) -> tuple[int, int]:
        """(server, client) transactions alive."""
        return self._layer.counts if self._layer else (0, 0)

    # -- LegHost --------------------------------------------------------------------------------
    @property
    def scheduler(self) -> Scheduler:
        """Where the stack's timers are set: the one given, else the running loop."""
        return self._scheduler if self._scheduler is not None else self.loop

    def send_request(
        self, request: SipRequest, destination: Address, on_response: ResponseHandler
    ) -> ClientTransaction:
        """Start a client transaction on the transport ``destination`` names."""
        assert self._layer is not None
        transport = self._transport_for(destination.transport)
        return self._layer.send_request(request, destination, on_response, transport=transport)

    def send_raw(self, data: bytes, destination: Address) -> None:
        """Send outside transactions."""
        self._transport_for(destination.transport).send(data, destination)

    def via(self, transport: str) -> tuple[str, int]:
        """Our sent-by for a transport."""
        return self._via.get(transport.upper()) or next(iter(self._via.values()))

    def contact(self, transport: str) -> str:
        """Our Contact for a transport (lower-case transport parameter)."""
        return self._contact.get(transport.upper()) or next(iter(self._contact.values()))

    def register_dialog(self, key: tuple[str, str], leg: Leg | ClosedDialog) -> None:
        """Route a dialog's requests to a leg."""
        self._dialogs[key] = leg

    def unregister_dialog_later(self, key: tuple[str, str], delay: float) -> None:
        """Forget a closed leg's dialog ``delay`` seconds from now (one queue, no timer each)."""
        self._closed_dialogs.add(delay, key)

    def unregister_dialog(self, key: tuple[str, str]) -> None:
        """Forget a dialog."""
        self._dialogs.pop(key, None)

    def _transport_for(self, name: str) -> Transport:
        return self._transports.get(name.upper()) or next(iter(self._transports.values()))

    def _receive(self, message: SipRequest | SipResponse, source: Address, transport: Transport) -> None:
        """Every parsed message: the security guard drops banned, scanning or flooding sources."""
        if self.security.admit(message, source):
            assert self._layer is not None
            self._layer.receive(message, source, transport)

    # -- TransactionUser ----------------------------------------------------------------------
    def on_request(self, transaction: ServerTransaction) -> None:
        """Dispatch a new request by method and dialog."""
        request = transaction.request
        method = request.method
        to_tag = request.to_tag
        if method == "SUBSCRIBE" and self.mwi is not None:  # RFC 3842 message waiting (voicemail)
            self._spawn(self.mwi.on_subscribe(transaction))
            return
        if to_tag is not None:
            leg = self._dialogs.get((request.call_id, to_tag))
            if leg is None:
                # the BYE of a call a previous life of this node lost: it is over (issue #20)
                lost = method == "BYE" and self.orphans.take((request.call_id, to_tag))
                transaction.reply(200 if lost else 481)
            else:
                leg.on_request(transaction)
            return
        if method in ("INVITE", "REGISTER"):
            # these create state from From and To: parse them now, so that a malformed one is
            # answered with 400 by the transport rather than failing later in a task
            request.from_addr  # noqa: B018
            request.to_addr  # noqa: B018
            request.uri  # noqa: B018
        if request.uri.scheme == "sips" and not is_secure(transaction.transport.name):
            # RFC 5630: sips means TLS on every hop, and this one was not
            transaction.reply(480, headers=[("warning", sips_not_allowed(self.settings.realm))])
            return
        if method == "INVITE":
            if not self._accepting:
                transaction.reply(503, headers=[("retry-after", "30")])
                return
            assert self._services is not None
            if not answer_now(self._services, transaction):  # 422, 483, a first try's 407: no task
                transaction.trying_soon()
                self._spawn(self._admit(transaction))
        elif method == "REGISTER":
            if not self.registrar.challenge_now(transaction):  # the 401 of a first try needs no task
                self._spawn(self.registrar.handle(transaction))
        elif method == "OPTIONS":
            transaction.reply(200, headers=[("allow", ALLOW), ("accept", "application/sdp")])
        elif method in ("BYE", "UPDATE", "INFO", "PRACK"):
            transaction.reply(481)  # in-dialog methods without a dialog
        else:
            transaction.reply(405, headers=[("allow", ALLOW)])

    async def _admit(self, transaction: ServerTransaction) -> None:
        assert self._services is not None
        try:
            controller = await admit(self._services, transaction)
        except SipParseError as exc:  # a header read during admission was malformed
            transaction.reply(400, exc.reason[:100])
            return
        except Exception:
            log.exception("call %s failed during admission", transaction.request.call_id)
            if not transaction.cancelled:
                transaction.reply(500)
            return
        if controller is None and transaction.cancelled and transaction.state is TxState.PROCEEDING:
            transaction.reply(487)

    def _call_started(self, call: CallController) -> None:
        self._calls[id(call)] = call
        self._invites[call.caller_leg.invite_key] = call

    def on_ack(self, request: SipRequest, source: Address) -> None:
        """ACK of a 2xx: to the leg of its dialog."""
        leg = self._dialogs.get((request.call_id, request.to_tag or ""))
        if leg is not None:
            leg.on_ack(request)

    def on_cancel(self, invite: ServerTransaction) -> None:
        """CANCEL of a pending INVITE."""
        controller = self._invites.get(invite.key)
        if controller is not None:
            controller.caller_leg.on_cancel()
        # otherwise admission is still running; it checks ``invite.cancelled`` when done

    def on_stray_response(self, response: SipResponse, source: Address) -> None:
        """A 2xx retransmission after the INVITE transaction ended: re-ACK through the leg."""
        if 200 <= response.status < 300 and response.cseq.method == "INVITE":
            leg = self._dialogs.get((response.call_id, response.from_tag or ""))
            if leg is not None:
                leg.on_stray_2xx(response)

    # -- internals ------------------------------------------------------------------------------
    def _call_finished(self, call: CallController) -> None:
        self._calls.pop(id(call), None)
        self._invites.pop(call.caller_leg.invite_key, None)

    def _spawn(self, coroutine: object) -> None:
        task: asyncio.Task[None] = self.loop.create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("request handler failed", exc_info=task.exception())

    def _purge_bindings(self) -> None:
        self._spawn(self.registrar.purge_expired())
        self.security.prune()
        self.orphans.prune()
        self._purge = self.scheduler.call_later(30, self._purge_bindings)
