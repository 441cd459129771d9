"""The demo month billed on SQLite and PostgreSQL, for the payments command line."""

from __future__ import annotations

import pytest

from nuage.bootstrap import Platform
from nuage.shared.clock import FrozenClock
from payments_flow import Month1, bill_month1


@pytest.fixture
def month1(platform: Platform, clock: FrozenClock) -> Month1:
    """January billed with the platform's payment settings and document tools."""
    return bill_month1(platform, clock, platform.documents)
