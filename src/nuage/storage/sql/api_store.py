"""The SQL side of ``nuage.services.access.AccessStore``, on the connection of an open unit of work."""

from __future__ import annotations

from sqlalchemy import Connection

from nuage.services.access import ApiClient, ApiLimits
from nuage.storage.sql.api_tables import api_clients, api_limits
from nuage.storage.sql.mapping import RowMapper
from nuage.storage.sql.repositories import SqlRepository
from nuage.storage.sql.unit_of_work import SqlUnitOfWork

_CLIENTS = RowMapper(ApiClient, api_clients)
_LIMITS = RowMapper(ApiLimits, api_limits)


class SqlAccessStore:
    """API clients and limits in the same transaction as the unit of work they come from."""

    def __init__(self, connection: Connection) -> None:
        self.clients = SqlRepository(connection, _CLIENTS, "api client", "id")
        self.limits = SqlRepository(connection, _LIMITS, "api limits", "account_id")


def access_store(uow: SqlUnitOfWork) -> SqlAccessStore:
    """The access store bound to ``uow``'s open transaction."""
    return SqlAccessStore(uow.connection)
