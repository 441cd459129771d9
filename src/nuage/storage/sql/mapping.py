"""Maps the domain's dataclasses to rows and back, with no ORM state in the domain objects."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlalchemy import Table

T = TypeVar("T")

Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]  # (to_row, from_row)


def _enum_of(annotation: Any) -> type[Enum] | None:
    """The Enum class behind ``E`` or ``E | None``, if any."""
    candidates = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


class RowMapper(Generic[T]):
    """Turns a dataclass into a row dict and a row back into the dataclass, converting enums."""

    def __init__(self, cls: type[T], table: Table, codecs: Mapping[str, Codec] | None = None) -> None:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls!r} is not a dataclass")
        self.cls = cls
        self.table = table
        hints = typing.get_type_hints(cls)
        self.fields = [f.name for f in dataclasses.fields(cls)]
        missing = [name for name in self.fields if name not in table.c]
        if missing:
            raise TypeError(f"{table.name} lacks columns for {cls.__name__}: {missing}")
        self._codecs = dict(codecs or {})
        self._enums = {name: enum for name in self.fields if (enum := _enum_of(hints[name])) is not None}

    def to_row(self, obj: T) -> dict[str, Any]:
        """The column values of ``obj``."""
        row: dict[str, Any] = {}
        for name in self.fields:
            value = getattr(obj, name)
            if name in self._codecs:
                value = self._codecs[name][0](value)
            elif isinstance(value, Enum):
                value = value.value
            row[name] = value
        return row

    def from_row(self, row: Mapping[Any, Any]) -> T:
        """A domain object from a row."""
        values: dict[str, Any] = {}
        for name in self.fields:
            value = row[name]
            if name in self._codecs:
                value = self._codecs[name][1](value)
            elif value is not None and name in self._enums:
                value = self._enums[name](value)
            values[name] = value
        return self.cls(**values)
