"""A repository over a dictionary: the semantics of ``SqlRepository`` without a database.

Filters are equalities (``None`` matches a missing value, a list/tuple/set means "one of"), the
order is by the named fields (missing values first; SQLite and PostgreSQL disagree there, and no
use case orders by a field that may be missing), objects go in and out as copies so that a use case
changing an object it read changes nothing until it calls ``update``. Enumerations compare by
value, as they are stored. Only the primary key is unique here: the table-level unique indexes of
the SQL schema are the storage's business, and the use cases check what the terms require first.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Generic, TypeVar

from nuage.errors import Conflict, NotFound

T = TypeVar("T")


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _matches(obj: Any, where: Mapping[str, Any]) -> bool:
    for name, wanted in where.items():
        value = _plain(getattr(obj, name))
        if isinstance(wanted, (list, tuple, set, frozenset)):
            if value not in {_plain(item) for item in wanted}:
                return False
        elif value != _plain(wanted):
            return False
    return True


class MemoryRepository(Generic[T]):
    """get/find/add/update/remove/list/count over the objects of one kind, keyed by one field."""

    def __init__(self, rows: dict[str, T], kind: str, key: str = "id") -> None:
        self._rows = rows
        self.kind = kind
        self._key = key

    def find(self, key: str) -> T | None:
        """The object with this key, or None."""
        found = self._rows.get(key)
        return None if found is None else copy.deepcopy(found)

    def get(self, key: str) -> T:
        """The object with this key; raises NotFound."""
        found = self.find(key)
        if found is None:
            raise NotFound(self.kind, key)
        return found

    def find_by(self, **where: Any) -> T | None:
        """The first object matching the equality filters, or None."""
        found = self.list(limit=1, **where)
        return found[0] if found else None

    def add(self, obj: T) -> T:
        """Insert a new object; a key already present is a Conflict, as the primary key makes it."""
        key = getattr(obj, self._key)
        if key in self._rows:
            raise Conflict(f"{self.kind} {key} already exists", field=self._key)
        self._rows[key] = copy.deepcopy(obj)
        return obj

    def update(self, obj: T) -> T:
        """Write every field of an existing object."""
        key = getattr(obj, self._key)
        if key not in self._rows:
            raise NotFound(self.kind, key)
        self._rows[key] = copy.deepcopy(obj)
        return obj

    def remove(self, key: str) -> None:
        """Delete an object; raises NotFound when absent."""
        if self._rows.pop(key, None) is None:
            raise NotFound(self.kind, key)

    def list(
        self,
        *,
        order_by: Sequence[str] = ("created_at", "id"),
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
        after: Sequence[Any] | None = None,
        **where: Any,
    ) -> list[T]:
        """Objects matching the filters, ordered by the named fields they have (NULL lowest), and
        paged: from ``offset``, or those after the one whose ``order_by`` values are ``after``."""
        found = [obj for obj in self._rows.values() if _matches(obj, where)]
        names = [name for name in order_by if found and hasattr(found[0], name)]

        def key_of(values: Any) -> tuple[tuple[bool, Any], ...]:
            return tuple((value is not None, value) for value in map(_plain, values))

        def sort_key(obj: T) -> tuple[tuple[bool, Any], ...]:
            return key_of(getattr(obj, name) for name in names)

        found.sort(key=sort_key, reverse=descending)
        if after is not None and found:
            mark = key_of(value for name, value in zip(order_by, after, strict=True) if name in names)
            found = [obj for obj in found if (sort_key(obj) < mark if descending else sort_key(obj) > mark)]
        end = None if limit is None else offset + limit
        return [copy.deepcopy(obj) for obj in found[offset:end]]

    def count(self, **where: Any) -> int:
        """How many objects match the filters."""
        return sum(1 for obj in self._rows.values() if _matches(obj, where))
