"""Fixtures of the SIP tests: a Nuage SIP server on free loopback ports with in-memory ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nuage.sip import SipServer, SipSettings
from nuage.sip.memory import MemoryBindingStore, MemoryCdrSink
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import CallPolicy
from sip.harness import Lab, free_port, make_lab_parts


@pytest.fixture
def lab_settings() -> SipSettings:
    return SipSettings(listen_port=0, t1_s=0.1, t2_s=0.4, no_answer_timeout_s=2.0, cdr_flush_interval_ms=50)


@pytest.fixture
def lab_policy() -> CallPolicy:
    return DialPlanPolicy()


@pytest.fixture
async def lab(lab_settings: SipSettings, lab_policy: CallPolicy) -> AsyncIterator[Lab]:
    carrier_port = free_port()
    credentials, dial_plan = make_lab_parts(carrier_port)
    bindings = MemoryBindingStore()
    cdrs = MemoryCdrSink()
    server = SipServer(
        lab_settings,
        credentials=credentials,
        dial_plan=dial_plan,
        bindings=bindings,
        policy=lab_policy,
        cdr_sink=cdrs,
    )
    await server.start()
    try:
        yield Lab(server, credentials, dial_plan, bindings, cdrs, carrier_port)
    finally:
        await server.stop(grace_s=0.5)
