"""The operator's live view of the SIP data plane (SIP-1): registrations and calls, TEN-4 scoped."""

from __future__ import annotations

import shutil

import pytest

from integration.sip.test_demo_calls import free_port, register
from nuage.bootstrap import SipRuntime
from nuage.policy import AutoDialerThresholds, Subject
from nuage.shared.clock import SystemClock
from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, DUPONT = "demo-operator", "demo-dupont"


@pytest.mark.rule("SIP-1")
@pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed")
async def test_the_operator_sees_a_phone_registered_over_real_sip(api: Api) -> None:
    api.platform.settings.sip.port = 0
    api.platform.clock = SystemClock()  # registrations expire in real time
    runtime = SipRuntime(api.platform)
    await runtime.start()
    try:
        await register(
            runtime.server.bound_address("UDP").port, "bob", "Bob-Demo-2026!", phone_port=free_port()
        )
        seen = await api.get(OPERATOR, "/sip/registrations")
        calls = await api.get(OPERATOR, "/sip/calls")
        hidden = await api.get(DUPONT, "/sip/registrations")
    finally:
        await runtime.stop(grace_s=1)
    assert seen.status_code == 200, seen.text
    (binding,) = seen.json()["items"]
    assert (binding["username"], binding["source"].split(":")[0]) == ("bob", "udp")
    assert calls.json() == {"items": [], "total": 0}
    assert seen.headers["Cache-Control"]
    assert hidden.status_code == 404  # TEN-4: a customer learns nothing of the operator's views
    assert hidden.json()["error_id"] == "not-found"


async def test_without_sip_in_the_process_the_view_says_which_upstream_is_missing(api: Api) -> None:
    answer = await api.get(OPERATOR, "/sip/calls")
    assert answer.status_code == 503
    assert answer.json()["details"]["upstream"] == "sip"


@pytest.mark.rule("SIP-4")
async def test_the_operator_sees_the_accounts_blocked_as_auto_dialers(api: Api) -> None:
    with api.platform.uow() as uow:
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
    assert party is not None
    api.platform.settings.sip.port = 0
    runtime = SipRuntime(api.platform)
    await runtime.start()
    try:
        detector = runtime.policy.autodialer
        detector.thresholds = AutoDialerThresholds(min_sample=3, sequential_run=3)
        for n in range(3):  # three sequential destinations
            detector.attempt(f"c{n}", f"047500000{n}", (Subject("account", party.id),))
        seen = await api.get(OPERATOR, "/sip/autodialer-blocks")
        hidden = await api.get(DUPONT, "/sip/autodialer-blocks")
        runtime.policy.clear_autodialer_block(party.id)
        cleared = await api.get(OPERATOR, "/sip/autodialer-blocks")
    finally:
        await runtime.stop(grace_s=1)
    assert seen.status_code == 200, seen.text
    (block,) = seen.json()["items"]
    assert (block["account_id"], block["trunk_id"]) == (party.id, None)
    assert "3 sequential destinations" in block["reason"]
    assert hidden.status_code == 404  # TEN-4
    assert cleared.json() == {"items": [], "total": 0}
