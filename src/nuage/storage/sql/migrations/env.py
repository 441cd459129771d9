"""Alembic environment: runs migrations on the connection or URL that ``nuage db upgrade`` gives."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import nuage.storage.sql.billing_tables  # noqa: F401  (registers the billing tables on metadata)
from nuage.storage.sql import (
    api_tables,  # noqa: F401  (registers the API tables on metadata)
    app_tables,  # noqa: F401  (registers the call applications' tables on metadata)
    media_tables,  # noqa: F401  (registers the media plane's tables on metadata)
    meeting_tables,  # noqa: F401  (registers the Web Meeting tables on metadata)
    payments_tables,  # noqa: F401  (registers the payments tables on metadata)
    security_tables,  # noqa: F401  (registers the portal security tables on metadata)
    support_tables,  # noqa: F401  (registers the support tables on metadata)
    voicemail_tables,  # noqa: F401  (registers the voicemail tables on metadata)
)
from nuage.storage.sql.engine import make_engine
from nuage.storage.sql.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the given connection, or one opened on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as opened:
            _run(opened)
            opened.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `nuage db upgrade`")
run_migrations_online()
