"""Composition root: builds storage, clock and services from the settings, once per process.

The edges (API, web, CLI) reach storage only through what :class:`Platform` hands them: the units of
work (``uow``, and ``api_uow`` for the API's reads), the fast read path (``key_reader``), the
database's health (``ping``) and its printable address (``database_label``).

The payments and documents use cases get their settings and ports from here: ``Platform.payments``
(``Settings.payments`` as the use cases' ``PaymentSettings``) and ``Platform.documents`` (those
with the WeasyPrint renderer and the offline e-invoice validator). Every issuing path (the monthly
run, order invoices, corrections, early termination, charge invoices) is handed the e-invoice
validator, ``Platform.einvoice_validator``, by the edge that calls it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from nuage import sip_wiring
from nuage.adapters.einvoice_validation import SaxonValidator
from nuage.config import Settings
from nuage.errors import UpstreamUnavailable
from nuage.payment_wiring import payment_settings
from nuage.services.einvoicing import PaymentSettings
from nuage.services.meetings.ports import MeetingGateways
from nuage.services.payments.documents import DocumentTools
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import Clock, SystemClock
from nuage.storage.sql.engine import check_url, make_engine, redacted_url
from nuage.storage.sql.errors import translated
from nuage.storage.sql.migrate import current_revision, head_revision, upgrade
from nuage.storage.sql.sealing import seal_with
from nuage.storage.sql.unit_of_work import SqlUnitOfWorkFactory

log = logging.getLogger("nuage.bootstrap")

if TYPE_CHECKING:
    from nuage.adapters.fax_inbox import SqlFaxInbox
    from nuage.policy import TermsCallPolicy
    from nuage.services.ports import KeyReader
    from nuage.sip.ports import BanStore
    from nuage.sip.server import SipServer
    from nuage.sip.tls_certs import CertificatePair
    from nuage.storage.sql.api_store import LazySqlUnitOfWorkFactory
    from nuage.storage.sql.policy_adapters import SqlPolicySnapshot
    from nuage.storage.sql.sip_adapters import SqlSipDirectory
    from nuage.storage.sql.sip_records import SqlBindingStore


@dataclass
class Platform:
    """Everything a process of Nuage needs, wired together."""

    settings: Settings
    engine: Engine
    uow: SqlUnitOfWorkFactory
    clock: Clock = field(default_factory=SystemClock)
    sip: SipRuntime | None = None  # set while the SIP data plane runs in this process

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @cached_property
    def api_uow(self) -> LazySqlUnitOfWorkFactory:
        """Units of work for the API: each repository built on first use (a read touches one or two)."""
        from nuage.storage.sql.api_store import LazySqlUnitOfWorkFactory

        return LazySqlUnitOfWorkFactory(self.engine)

    @property
    def database_kind(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def database_label(self) -> str:
        """The database's URL fit to print (its password hidden)."""
        return redacted_url(self.settings.effective_database_url)

    def key_reader(self) -> KeyReader | None:
        """A new reader of rows by primary key for the API's fast read path (the caller closes it), or
        None when there is none for this database's driver."""
        from nuage.storage.sql.api_reads import key_reader

        return key_reader(self.engine)

    def ping(self) -> None:
        """Reach the database once; raise what the driver raises when it cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @cached_property
    def _head_revision(self) -> str | None:
        return head_revision(self.settings.effective_database_url)  # the shipped scripts: read once

    def schema_is_current(self) -> bool:
        """Whether the database is migrated to the newest revision shipped."""
        return current_revision(self.engine) == self._head_revision

    @cached_property
    def payments(self) -> PaymentSettings:
        """BIL-4/PAY-1/PAY-2: the ``[payments]`` settings, for every use case of the CLI and the API."""
        return payment_settings(self.settings)

    @cached_property
    def einvoice_validator(self) -> EInvoiceValidator:
        """BIL-4: the offline e-invoice check every issuing path and the documents use."""
        return SaxonValidator()

    @cached_property
    def documents(self) -> DocumentTools:
        """BIL-4: the payment settings with the PDF renderer and the e-invoice validator."""
        from nuage.adapters.weasyprint_pdf import WeasyPrintRenderer

        return DocumentTools(self.payments, WeasyPrintRenderer(), self.einvoice_validator)

    @cached_property
    def meeting_gateways(self) -> MeetingGateways | None:
        """MTG-1: the Janus instances of ``[janus]`` (None when Web Meeting is not configured)."""
        if not self.settings.janus.gateways():
            return None
        from nuage.adapters.janus_pool import JanusPool

        return JanusPool(self.settings.janus)

    @contextlib.asynccontextmanager
    async def ban_store(self) -> AsyncIterator[BanStore]:
        """SIP-5: where the SIP edge's bans are kept (``sip.bans``), for the API and the CLI to list
        and lift them; released when the block ends."""
        store = sip_wiring.ban_store(self.settings, self.engine)
        try:
            yield store
        finally:
            await sip_wiring.close_ban_store(store)

    def secret_key(self) -> str:
        """The signing key: configured, or generated once and kept in the data directory."""
        return secret_key_of(self.settings)


def secret_key_of(settings: Settings) -> str:
    """The platform's secret key: configured, or generated once and kept in the data directory
    (it signs tokens, and the key of the secrets sealed at rest is derived from it)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def build_platform(settings: Settings, *, migrate: bool = False, clock: Clock | None = None) -> Platform:
    """Open storage (migrating it first when asked) and wire the services; a database that cannot be
    reached is ``UpstreamUnavailable``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    check_url(url)  # InvalidInput: a URL that does not parse, a SQLite file in a missing folder
    key = secret_key_of(settings)
    if migrate:
        try:
            upgrade(url, secret_key=key)  # a migration seals the secrets kept before (0032_portal)
        except DBAPIError as error:
            found = translated(error)
            if found is None:
                raise
            if isinstance(found, UpstreamUnavailable):
                reason = (
                    str(error.orig).strip().splitlines()[0][:200] if str(error.orig).strip() else "no answer"
                )
                found = UpstreamUnavailable(
                    "database", f"the database at {redacted_url(url)} cannot be reached ({reason})"
                )
            raise found from error
    engine = make_engine(url)
    seal_with(engine, key)  # the second factors' secrets, sealed at rest
    return Platform(
        settings=settings, engine=engine, uow=SqlUnitOfWorkFactory(engine), clock=clock or SystemClock()
    )


class SipRuntime:
    """The SIP data plane wired to storage: directory snapshot, registrations, CDRs (SIP-1), and the
    terms-based call policy (EMG-4, PAY-3, CTR-4, SIP-2, CAP-3) over its own snapshot."""

    reconcile_s: float = 30.0  # how often channels of calls no longer in progress are given back

    def __init__(self, platform: Platform) -> None:
        from nuage.adapters.attendant_plane import AttendantPlane
        from nuage.adapters.call_recordings import SqlCallRecordings
        from nuage.adapters.call_routing import RoutingBridge
        from nuage.adapters.fax_plane import attach_fax
        from nuage.adapters.hold_music import SqlHoldMusic
        from nuage.adapters.hot_desk import HotDeskBridge
        from nuage.adapters.media_plane import MediaPlane
        from nuage.adapters.voicemail_plane import VoicemailPlane
        from nuage.directory.widget_tickets import WidgetTickets, ticket_key
        from nuage.policy import AutoDialerDetector, CallerIdMode, DailySpend, TermsCallPolicy
        from nuage.sip.accounting import CdrWriter
        from nuage.sip.bans import BanKeeper
        from nuage.sip.server import SipServer
        from nuage.sip.server_settings import SipSettings
        from nuage.sip.tcp import TcpLimits
        from nuage.storage.sql.call_journal import SqlCallJournal
        from nuage.storage.sql.policy_adapters import SqlPolicySnapshot
        from nuage.storage.sql.sip_adapters import SqlSipDirectory
        from nuage.storage.sql.sip_records import SqlBindingStore, SqlCdrSink

        config = platform.settings.sip
        self.directory: SqlSipDirectory = SqlSipDirectory(
            platform.engine,
            home_region=platform.settings.home_region,
            clock=platform.clock,
        )
        self.bindings: SqlBindingStore = SqlBindingStore(platform.engine)
        self.policy_state: SqlPolicySnapshot = SqlPolicySnapshot(
            platform.engine, clock=platform.clock, home_region=platform.settings.home_region
        )
        self.policy: TermsCallPolicy = TermsCallPolicy(
            self.policy_state,
            channels=sip_wiring.channels(platform.settings),  # CAP-3: in memory, or shared in Redis
            caller_id_mode=CallerIdMode(config.caller_id_mode),
            home_region=platform.settings.home_region,
            autodialer=AutoDialerDetector(
                platform.clock, sip_wiring.autodialer_thresholds(platform.settings)
            ),  # SIP-4
            clock=platform.clock,
            spend=DailySpend(platform.clock, max_call_s=float(config.max_call_duration_s)),  # SIP-5
        )
        self.policy_state.journal = self.policy.autodialer.journal  # SIP-4 blocks written behind
        settings = SipSettings(
            listen_host=config.host,
            listen_port=config.port,
            realm=config.realm,
            max_call_duration_s=float(config.max_call_duration_s),
            max_application_duration_s=float(config.max_application_duration_s),
            security=sip_wiring.security_settings(platform.settings),  # SIP-5
            nonce_ttl_s=config.nonce_ttl_s,
            nonce_bind_source=config.nonce_bind_source,
            nonce_secret=config.nonce_secret.encode() if config.nonce_secret else None,
            nonce_counts_max=config.nonce_counts_max,
            tcp=TcpLimits(
                idle_timeout_s=config.tcp_idle_timeout_s,
                max_connections=config.tcp_max_connections,
                max_connections_per_address=config.tcp_max_connections_per_address,
            ),
            node_id=sip_wiring.node_id(
                platform.settings
            ),  # names the crash journal (and the Redis channel holds)
        )
        self.nonce_counts = sip_wiring.nonce_counts(platform.settings)
        cdr_sink = SqlCdrSink(platform.engine)
        self.server: SipServer = SipServer(
            settings,
            credentials=self.directory,
            dial_plan=self.directory,
            bindings=self.bindings,
            policy=self.policy,
            cdr_sink=cdr_sink,
            clock=platform.clock,
            hot_desk=HotDeskBridge(  # CFG-13: the use cases, shown at once by the directory
                platform.engine,
                self.directory,
                platform.clock,
                timeout=timedelta(hours=config.hot_desk_timeout_hours),
            ),
            nonce_counts=self.nonce_counts,
            journal_store=SqlCallJournal(platform.engine),  # issue #20: calls a crash interrupts get CDRs
            routing=RoutingBridge(platform.engine, self.directory, platform.clock),  # issue #15
        )
        # CAP-3: the CDR writer is the server's end-of-call hook (every attempt ends in exactly one
        # CDR); ours also gives the call's channels back to the policy, at once (and tells SIP-4's
        # auto-dialer detector how the call ended).
        self.server.cdr_writer = CdrWriter(
            cdr_sink,
            batch_size=settings.cdr_batch_size,
            flush_interval_ms=settings.cdr_flush_interval_ms,
            on_ended=self.policy.call_ended,
        )
        recordings = SqlCallRecordings(  # CFG-9
            platform.engine,
            platform.settings.data_dir,
            platform.clock,
            home_region=platform.settings.home_region,
        )
        music = platform.settings.data_dir / "media" / "hold-music.wav"  # the default music on hold
        accounts_music = SqlHoldMusic(platform.engine, platform.settings.data_dir)  # the accounts' choices
        self.media = MediaPlane.attach(
            self.server, config.media, recordings, music, accounts_music
        )  # issue #15
        self.voicemail: VoicemailPlane | None = None  # issue #16: *98/*97, message waiting, e-mails
        if config.voicemail.enabled:
            args = (config.voicemail, platform.engine, platform.settings.data_dir, platform.clock)
            self.voicemail = VoicemailPlane(self.server, *args)
        prompts_dir = config.voicemail.prompts_dir or platform.settings.data_dir / "media" / "prompts"
        home = platform.settings.home_region  # issue #16: auto-attendant menus, schedules, conference rooms
        self.attendant = AttendantPlane(
            self.server,
            platform.uow,
            platform.clock,
            prompts_dir,
            home,
            config.voicemail.deposit_code,
            recordings,
            platform.engine,  # issue #22: phones' calls checked against an index in memory
        )
        self.directory.also_reload.append(self.attendant.reload_index)
        gateways = platform.meeting_gateways  # MTG-1: phones into Web Meeting rooms' sound
        if gateways is not None:
            from nuage.adapters.janus_dialin import JanusMeetingBridge
            from nuage.sip.attendant.meeting import MeetingDialIn

            bridge = JanusMeetingBridge(
                platform.uow, platform.clock, gateways, platform.settings.janus, platform.payments
            )
            self.attendant.attendants.meetings = MeetingDialIn(bridge, self.attendant.directory.prompt)
        self.fax: SqlFaxInbox | None = attach_fax(  # CFG-7: numbers leading to a virtual fax
            self.server, config.fax, platform.engine, platform.settings.data_dir, platform.clock
        )
        # CFG-10: the click-to-call widget's calls, on tickets the web process signs with the same key
        self.server.widgets = WidgetTickets(ticket_key(platform.secret_key()), platform.clock)
        # SIP-5: the operator's carrier gateways (each at its address and port) are never banned or
        # rate-limited as scanners would be.
        self.directory.on_carriers = self.server.security.trust_carriers
        # SIP-5: bans written behind, kept over restarts and shared with the other SIP nodes
        self.ban_store: BanStore = sip_wiring.ban_store(platform.settings, platform.engine)
        self.bans = BanKeeper(
            self.server.security, self.ban_store, sync_s=config.bans_sync_s, clock=platform.clock
        )
        self._platform = platform
        self._reconciler: asyncio.Task[None] | None = None
        self.certificate: CertificatePair | None = None  # SIP over TLS's, once started

    async def start(self) -> None:
        """Load the directory and the policy's snapshot, then listen for SIP on UDP, TCP and TLS."""
        from nuage.sip.tls_certs import tls_setup

        config = self._platform.settings.sip
        if config.tls.enabled:  # the certificate's files, the demo's key generation: off the loop
            folder, port = self._platform.settings.data_dir / "tls", config.tls.effective_port(config.port)
            contexts, self.certificate = await asyncio.to_thread(
                tls_setup, config.tls, demo_folder=folder, hosts=(config.host,), port=port
            )
            self.server.settings = replace(self.server.settings, tls=contexts)
        await self.directory.start()
        try:
            await self.policy_state.start()
            self.policy.refresh()  # SIP-4: the blocks stored are in force from the first call
            await self.server.recover()  # the CDRs of calls a crash of this node cut, before SIP-5 sums them
            self.policy.restore_spend(*await self.policy_state.load_spend_today())  # SIP-5
            await self.policy.channels.start()
            if self.nonce_counts is not None:
                await self.nonce_counts.start()
            await self.bans.start()  # the stored bans are in force before the first message
            await self.media.start()
            if self.voicemail is not None:
                await self.voicemail.start()
            await self.attendant.start()
            await self.server.start()
        except BaseException:
            await self.media.stop()
            await self.bans.stop()
            await sip_wiring.close_ban_store(self.ban_store)
            if self.nonce_counts is not None:
                await self.nonce_counts.stop()
            await self.policy.channels.stop()
            await self.policy_state.stop()
            await self.directory.stop()
            raise
        self._reconciler = asyncio.create_task(self._reconcile_forever(), name="call-policy-reconcile")
        self._platform.sip = self

    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_s)
            live = [(call.call_id, *call.forwarded_legs) for call in self.server.calls()]  # CAP-3
            released = self.policy.reconcile(call_id for ids in live for call_id in ids)
            if released:
                log.warning("gave back the channels of %d calls that ended unnoticed", released)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop accepting calls, let current ones end for ``grace_s``, flush CDRs and registrations."""
        if self._reconciler is not None:
            self._reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciler
            self._reconciler = None
        try:
            await self.server.stop(grace_s)
        finally:
            await self.media.stop()  # after the calls: their media sessions are released by now
            if self.voicemail is not None:
                await self.voicemail.stop()
            await self.attendant.stop()
            if self.fax is not None:
                await self.fax.drain()  # the e-mails of the last faxes
            await self.bans.stop()
            await sip_wiring.close_ban_store(self.ban_store)
            await self.bindings.close()
            if self.nonce_counts is not None:
                await self.nonce_counts.stop()
            await self.policy.channels.stop()
            await self.policy_state.stop()
            await self.directory.stop()
            self._platform.sip = None

    async def lift_ban(self, address: str) -> bool:
        """SIP-5: the operator lifts a ban, here at once and in the store (the other nodes follow
        within one sync); whether ``address`` was banned."""
        lifted = self.server.unban(address)  # queues the lift for the store too
        try:
            lifted = await self.ban_store.lift(address, self._platform.clock.now()) or lifted
        except Exception:
            if not lifted:
                raise  # neither here nor known to be in the store: the caller says so
            log.warning("the lift of the ban of %s is stored once the store answers", address)
        await self.bans.flush()
        return lifted
