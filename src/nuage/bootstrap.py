"""Composition root: builds storage, clock and services from the settings, once per process."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import Engine

from nuage.config import Settings
from nuage.shared.clock import Clock, SystemClock
from nuage.storage.sql.engine import make_engine
from nuage.storage.sql.migrate import current_revision, head_revision, upgrade
from nuage.storage.sql.unit_of_work import SqlUnitOfWorkFactory


@dataclass
class Platform:
    """Everything a process of Nuage needs, wired together."""

    settings: Settings
    engine: Engine
    uow: SqlUnitOfWorkFactory
    clock: Clock = field(default_factory=SystemClock)

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
