"""The SQL side of ``nuage.services.access.AccessStore``, on the connection of an open unit of work."""

from __future__ import annotations

from collections.abc import Collection
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from sqlalchemy import Connection, Engine, Select, bindparam, select

from nuage.services.access import ApiClient, ApiLimits
from nuage.storage.sql.api_tables import api_clients, api_limits
from nuage.storage.sql.mapping import RowMapper
from nuage.storage.sql.repositories import SqlRepository
from nuage.storage.sql.tables import users
from nuage.storage.sql.unit_of_work import MAPPERS, SqlUnitOfWork

T = TypeVar("T")

_CLIENTS = RowMapper(ApiClient, api_clients)
_LIMITS = RowMapper(ApiLimits, api_limits)


class SqlAccessStore:
    """API clients and limits in the same transaction as the unit of work they come from."""

    def __init__(self, connection: Connection) -> None:
        self.clients = SqlRepository(connection, _CLIENTS, "api client", "id")
        self.limits = SqlRepository(connection, _LIMITS, "api limits", "account_id")
        self._connection = connection

    def user_holders(self, user_ids: Collection[str]) -> dict[str, tuple[str, str]]:
        """The account and role of each of these users that still exists (who holds user tokens now)."""
        found: dict[str, tuple[str, str]] = {}
        wanted = sorted(user_ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(users.c.id, users.c.account_id, users.c.role).where(users.c.id.in_(chunk))
            for user_id, account_id, role in self._connection.execute(query):
                found[str(user_id)] = (str(account_id), str(role))
        return found


class _PreparedFind(SqlRepository[T]):
    """``find`` with a statement built once per table (SQLAlchemy memoises its cache key), instead of
    building and keying a new ``select`` per call: the single-item read of API-4's hot path."""

    _finds: ClassVar[dict[tuple[str, str], Select[Any]]] = {}

    def find(self, key: str) -> T | None:
        """The object with this key, or None."""
        name = (self._table.name, self._key.name)
        statement = self._finds.get(name)
        if statement is None:
            statement = select(self._table).where(self._key == bindparam("key"))
            self._finds[name] = statement
        row = self._connection.execute(statement, {"key": key}).mappings().first()
        return None if row is None else self._mapper.from_row(row)


class LazySqlUnitOfWork(SqlUnitOfWork):
    """The same unit of work, building each repository on first use: an API read touches one or two of
    the fifteen, and building them all costs more than the query (the read path of API-4)."""

    def __enter__(self) -> Self:
        self._open()
        return self

    def __getattr__(self, name: str) -> Any:
        spec = MAPPERS.get(name)
        connection: Connection | None = self.__dict__.get("_connection")
        if spec is None or connection is None:
            raise AttributeError(name)
        mapper, kind, key = spec
        repository: SqlRepository[Any] = _PreparedFind(connection, mapper, kind, key)
        setattr(self, name, repository)
        return repository

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            for name in MAPPERS:
                self.__dict__.pop(name, None)


class LazySqlUnitOfWorkFactory:
    """Makes lazy units of work over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self) -> LazySqlUnitOfWork:
        return LazySqlUnitOfWork(self.engine)
