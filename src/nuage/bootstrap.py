"""Composition root: builds storage, clock and services from the settings, once per process."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from nuage.config import Settings
from nuage.shared.clock import Clock, SystemClock
from nuage.storage.sql.engine import make_engine
from nuage.storage.sql.migrate import current_revision, head_revision, upgrade
from nuage.storage.sql.unit_of_work import SqlUnitOfWorkFactory

if TYPE_CHECKING:
    from nuage.sip.server import SipServer
    from nuage.storage.sql.sip_adapters import SqlBindingStore, SqlSipDirectory


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

    def schema_is_current(self) -> bool:
        """Whether the database is migrated to the newest revision shipped."""
        return current_revision(self.engine) == head_revision(self.settings.effective_database_url)

    def secret_key(self) -> str:
        """The signing key: configured, or generated once and kept in the data directory."""
        if self.settings.secret_key is not None:
            return self.settings.secret_key.get_secret_value()
        path = self.settings.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def build_platform(settings: Settings, *, migrate: bool = False, clock: Clock | None = None) -> Platform:
    """Open storage (migrating it first when asked) and wire the services."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    if migrate:
        upgrade(url)
    engine = make_engine(url)
    return Platform(
        settings=settings, engine=engine, uow=SqlUnitOfWorkFactory(engine), clock=clock or SystemClock()
    )


class SipRuntime:
    """The SIP data plane wired to storage: directory snapshot, registrations, CDRs (SIP-1)."""

    def __init__(self, platform: Platform) -> None:
        from nuage.sip.policy import DialPlanPolicy
        from nuage.sip.server import SipServer, SipSettings
        from nuage.storage.sql.sip_adapters import SqlBindingStore, SqlCdrSink, SqlSipDirectory

        config = platform.settings.sip
        self.directory: SqlSipDirectory = SqlSipDirectory(
            platform.engine, home_region=platform.settings.home_region
        )
        self.bindings: SqlBindingStore = SqlBindingStore(platform.engine)
        self.server: SipServer = SipServer(
            SipSettings(
                listen_host=config.host,
                listen_port=config.port,
                realm=config.realm,
                max_call_duration_s=float(config.max_call_duration_s),
            ),
            credentials=self.directory,
            dial_plan=self.directory,
            bindings=self.bindings,
            policy=DialPlanPolicy(),
            cdr_sink=SqlCdrSink(platform.engine),
            clock=platform.clock,
        )
        self._platform = platform

    async def start(self) -> None:
        """Load the directory, then listen for SIP on UDP and TCP."""
        await self.directory.start()
        try:
            await self.server.start()
        except BaseException:
            await self.directory.stop()
            raise
        self._platform.sip = self

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop accepting calls, let current ones end for ``grace_s``, flush CDRs and registrations."""
        try:
            await self.server.stop(grace_s)
        finally:
            await self.bindings.close()
            await self.directory.stop()
            self._platform.sip = None
