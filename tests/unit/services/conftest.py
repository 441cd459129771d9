"""The use cases' rules on the in-memory unit of work: no database, milliseconds per test.

``platform`` here is the in-memory unit of work and the frozen clock, all these tests use of a
platform; the contract tests (tests/integration/storage) prove that the memory repositories,
billing store and payment store behave as the SQL ones on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from nuage.shared.clock import FrozenClock
from nuage.storage.memory.unit_of_work import MemoryUnitOfWorkFactory
from platforms import MemoryPlatform


@pytest.fixture
def platform(clock: FrozenClock) -> MemoryPlatform:
    """A fresh in-memory store per test, with the frozen clock."""
    return MemoryPlatform(MemoryUnitOfWorkFactory(), clock)
