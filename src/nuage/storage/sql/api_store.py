"""The SQL side of ``nuage.services.access.AccessStore``, on the connection of an open unit of work."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from sqlalchemy import Connection, Engine, Select, bindparam, delete, insert, select

from nuage.services.access import ApiClient, ApiLimits
from nuage.storage.sql.api_tables import api_clients, api_limits, api_revoked_tokens
from nuage.storage.sql.mapping import RowMapper
from nuage.storage.sql.repositories import SqlRepository
from nuage.storage.sql.tables import users
from nuage.storage.sql.unit_of_work import MAPPERS, SqlUnitOfWork

T = TypeVar("T")

_CLIENTS = RowMapper(ApiClient, api_clients)
_LIMITS = RowMapper(ApiLimits, api_limits)


class SqlAccessStore:
    """API clients, limits and revoked tokens in the same transaction as the unit of work they come from."""

    def __init__(self, connection: Connection) -> None:
        self.clients = SqlRepository(connection, _CLIENTS, "api client", "id")
        self.limits = SqlRepository(connection, _LIMITS, "api limits", "account_id")
        self._connection = connection

    def user_holders(self, user_ids: Collection[str]) -> dict[str, tuple[str, str, int]]:
        """The account, role and token generation of each of these users that still exists."""
        found: dict[str, tuple[str, str, int]] = {}
        wanted = sorted(user_ids)
        columns = (users.c.id, users.c.account_id, users.c.role, users.c.token_generation)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(*columns).where(users.c.id.in_(chunk))
            for user_id, account_id, role, generation in self._connection.execute(query):
                found[str(user_id)] = (str(account_id), str(role), int(generation))
        return found

    def revoke_token(self, token_id: str, subject: str, expires_at: datetime, now: datetime) -> None:
        """Keep a revoked token's id until it expires (and forget those expired by ``now``)."""
        table = api_revoked_tokens
        self._connection.execute(delete(table).where(table.c.expires_at <= now))
        known = select(table.c.token_id).where(table.c.token_id == token_id)
        if self._connection.execute(known).first() is None:
            values = {"token_id": token_id, "subject": subject, "expires_at": expires_at, "revoked_at": now}
            self._connection.execute(insert(table).values(**values))

    def revoked_token_ids(self, now: datetime) -> frozenset[str]:
        """The ids of the revoked tokens that have not expired by ``now``."""
        table = api_revoked_tokens
        query = select(table.c.token_id).where(table.c.expires_at > now)
        return frozenset(str(token_id) for (token_id,) in self._connection.execute(query))


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
