"""SIP-4 end to end: a burst of short calls from a demo phone gets its account blocked as an
automatic calling machine; the next call is refused with a Warning citing SIP-4, 112 still goes
through (EMG-4); a handful of real conversations is not blocked. Thresholds are lowered (an
operator setting) so the burst stays small and the test fast."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nuage.bootstrap import Platform
from nuage.directory.model import TrafficPack
from nuage.policy import AutoDialerThresholds, Subject
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id

from .test_demo_calls import answering, demo_sip, free_port, sipp
from .test_policy_calls import ALICE, SCENARIOS, _account, _call, _cdrs, _refused, _runtime

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]

__all__ = ["demo_sip"]  # the fixture, shared with the demo calls

BURST = 6
FAST = AutoDialerThresholds(min_sample=BURST, max_attempts_per_min=BURST, short_call_s=2)


async def _burst(platform: Platform, sip_port: int, carrier_port: int, *, talk_ms: int) -> None:
    """BURST calls from alice to one external number, up to 10 a second; the carrier answers.
    A pack gives the account BURST channels first (CAP-2), so that CAP-3 refuses none."""
    dupont = _account(platform, "Atelier Dupont")
    with platform.uow() as uow:
        today = business_date(platform.clock.now())
        pack = TrafficPack(
            new_id("pack"), dupont, "Lines", 1, platform.clock.now(), today, channel_limit=BURST
        )
        uow.packs.add(pack)
        uow.commit()
    await _runtime(platform).policy_state.reload()
    carrier = await answering(carrier_port, "-m", str(BURST))
    await sipp(
        str(SCENARIOS / "held_call.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", "0475123456", *ALICE, "-key", "caller", "alice", "-d", str(talk_ms)),
        *("-m", str(BURST), "-r", "10", "-l", str(BURST)),
        port=free_port(),
    )
    await carrier


@pytest.mark.rule("SIP-4")
@pytest.mark.rule("EMG-4")
async def test_a_burst_of_short_calls_is_blocked_then_112_still_goes_through(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    runtime = _runtime(platform)
    runtime.policy.autodialer.thresholds = FAST
    dupont = _account(platform, "Atelier Dupont")
    await _burst(platform, sip_port, carrier_port, talk_ms=100)
    await runtime.server.cdr_writer.flush()
    (block,) = runtime.policy.autodialer_blocks()
    assert block.subject == Subject("account", dupont)
    assert "short (< 2 s) or unanswered" in block.reason
    status, warning = await _refused(sip_port, "0475123456", tmp_path)
    assert status == 403
    assert '"SIP-4 ' in warning
    carrier = await answering(carrier_port)
    await _call(sip_port, "112")  # EMG-4: the block leaves the emergency services reachable
    await carrier
    rows = await _cdrs(platform)
    summary = [(r["callee"], r["outcome"], r["refusal_rule"]) for r in rows]
    assert summary.count(("+32475123456", "answered", None)) == BURST
    assert summary[BURST:] == [("+32475123456", "refused", "SIP-4"), ("112", "answered", None)]
    assert runtime.policy.clear_autodialer_block(dupont)
    assert runtime.policy.autodialer_blocks() == []


@pytest.mark.rule("SIP-4")
async def test_a_handful_of_real_conversations_is_not_blocked(demo_sip: tuple[Platform, int, int]) -> None:
    platform, sip_port, carrier_port = demo_sip
    runtime = _runtime(platform)
    runtime.policy.autodialer.thresholds = FAST
    await _burst(platform, sip_port, carrier_port, talk_ms=2500)  # as fast, but answered and longer
    await runtime.server.cdr_writer.flush()
    assert runtime.policy.autodialer_blocks() == []
    rows = await _cdrs(platform)
    assert [r["outcome"] for r in rows] == ["answered"] * BURST
