"""The unit of work of each storage (memory, SQLite, PostgreSQL), for the contract tests run on all three."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nuage.shared.clock import FrozenClock
from nuage.storage.memory.unit_of_work import MemoryUnitOfWorkFactory
from platforms import DATABASES, open_platform


@pytest.fixture(params=["memory", *DATABASES])
def uow_factory(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> Iterator[Any]:
    """The memory unit of work, then the SQL one on SQLite and on PostgreSQL."""
    if request.param == "memory":
        yield MemoryUnitOfWorkFactory()
        return
    with open_platform(request, request.param, tmp_path, clock) as platform:
        yield platform.uow
