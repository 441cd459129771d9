"""SIP-5 end to end: a daily spending cap on a demo account, real SIPp phones and carrier.

The first call to a mobile is cut by the platform when it has spent the budget (its
``max_duration``), the next is refused with a Warning citing SIP-5, and 112 still goes through
(EMG-4). The SIP plane runs in-process on real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from integration.sip.test_demo_calls import answering, demo_sip, free_port, sipp
from integration.sip.test_policy_calls import ALICE, _account, _call, _cdrs, _refused, _runtime
from nuage.bootstrap import Platform
from nuage.storage.sql.policy_store import SqlPolicyStore

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]

__all__ = ["demo_sip"]  # the fixture, shared with the demo calls


@pytest.mark.rule("SIP-5")
@pytest.mark.rule("EMG-4")
async def test_a_call_is_cut_at_the_cap_the_next_refused_and_112_still_goes_through(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    dupont = _account(platform, "Atelier Dupont")
    with platform.engine.begin() as connection:  # 2 cents a day: 8 s to a Belgian mobile (0.15/min)
        SqlPolicyStore(connection).set_spend_cap(dupont, Decimal("0.02"), platform.clock.now())
    runtime = _runtime(platform)
    await runtime.policy_state.reload()
    carrier = await answering(carrier_port)
    await sipp(
        str(SCENARIOS / "uac_call_cut.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", "0475123456", *ALICE, "-key", "caller", "alice"),
        port=free_port(),
        timeout_s=30,
    )
    await carrier
    assert runtime.policy.spend.spent(dupont) == Decimal("0.02")
    status, warning = await _refused(sip_port, "0475123457", tmp_path)
    assert status == 403
    assert '"SIP-5 daily spending cap of 0.02 EUR reached"' in warning
    carrier = await answering(carrier_port)
    await _call(sip_port, "112")  # EMG-4: never refused nor cut for the cap
    await carrier
    rows = await _cdrs(platform)
    summary = [(r["callee"], r["outcome"], r["refusal_rule"]) for r in rows]
    assert summary == [
        ("+32475123456", "answered", None),  # the E.164 number rating prices
        ("+32475123457", "refused", "SIP-5"),
        ("112", "answered", None),
    ]
    cut = rows[0]["billable_seconds"]
    assert isinstance(cut, int)
    assert 7 <= cut <= 8  # cut at the 7 s granted: what 0.02 EUR buys, minus the rounding second
