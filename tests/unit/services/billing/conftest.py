"""The demo tenancy with its billing defaults on the in-memory unit of work (``platform`` here)."""

from __future__ import annotations

import pytest

from billing_flow import Demo, load_demo_world
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import FrozenClock
from platforms import MemoryPlatform


@pytest.fixture
def demo(platform: MemoryPlatform, clock: FrozenClock, einvoice_validator: EInvoiceValidator) -> Demo:
    """The demo loaded on 3 February 2026 (the demo month, January, has ended)."""
    return load_demo_world(platform, clock, einvoice_validator)
