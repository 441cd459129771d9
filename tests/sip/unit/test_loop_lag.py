"""The event loop's lag probe (issue #22): a stalled loop shows in its report lines."""

from __future__ import annotations

import logging
import re
import time

import pytest

from nuage.sip.loop_lag import LoopLagProbe
from waiting import wait_for_condition

LINE = re.compile(r"ticks=(\d+) .*max_ms=([\d.]+) worst_cpu_ms=([\d.]+) gc_max_ms=([\d.]+) buckets ([^;]*);")


def reports(caplog: pytest.LogCaptureFixture) -> list[tuple[int, float, float, dict[str, int]]]:
    found = []
    for record in caplog.records:
        match = LINE.search(record.getMessage())
        if record.name == "nuage.sip.loop_lag" and match:
            buckets = {k: int(v) for k, v in (pair.split("=") for pair in match.group(5).split())}
            found.append((int(match.group(1)), float(match.group(2)), float(match.group(3)), buckets))
    return found


async def test_a_stall_of_the_loop_is_reported_with_its_lateness_and_the_loop_s_own_cpu(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nuage.sip.loop_lag")
    probe = LoopLagProbe(report_s=0.2, tick_s=0.01)
    probe.start()
    try:
        await wait_for_condition(lambda: bool(reports(caplog)), what="a first report")
        stalled_until = time.perf_counter() + 0.2
        while time.perf_counter() < stalled_until:  # the loop's own work holds it (the CPU is ours)
            pass
        await wait_for_condition(
            lambda: any(worst >= 150 for _, worst, _, _ in reports(caplog)), what="the stall reported"
        )
    finally:
        probe.stop()
    stalled = next(line for line in reports(caplog) if line[1] >= 150)
    assert stalled[2] > 0  # the loop's thread used the processor during the stall
    assert stalled[3].get("200", 0) + stalled[3].get("500", 0) + stalled[3].get("1000", 0) >= 1
    for ticks, _, _, buckets in reports(caplog):
        assert sum(buckets.values()) == ticks  # every tick counted in exactly one bucket
