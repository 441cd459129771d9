"""The demo tenancy with its billing defaults, on SQLite and PostgreSQL (the ``platform`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.bootstrap import Platform
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.shared.clock import FrozenClock
from nuage.tenancy.model import PartyKind

from .billing_flow import Demo


@pytest.fixture
def demo(platform: Platform, clock: FrozenClock) -> Demo:
    """The demo loaded on 3 February 2026 (the demo month, January, has ended)."""
    clock.set(datetime(2026, 2, 3, 8, 0, tzinfo=UTC))
    with platform.uow() as uow:
        summary = load_demo(uow, clock)
    with platform.uow() as uow:
        ids = {
            party.name: party.id
            for party in uow.parties.list()
            if party.kind in (PartyKind.CUSTOMER, PartyKind.PARTNER)
        }
    return Demo(platform, clock, Context.operator(summary.operator_id, clock), ids)
