"""SIP-4: the auto-dialer detector on synthetic call patterns, alone and inside the policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from nuage.policy import AutoDialerDetector, AutoDialerThresholds, Subject
from nuage.policy.autodialer import longest_sequential_run
from nuage.shared.clock import FrozenClock
from nuage.sip.ports import Authorization, Refusal
from nuage.sip.responses import refusal_status

from .test_terms_policy import AT, _attempt, _ended, _policy, _snapshot

ALICE = Subject("account", "acc-a")

pytestmark = pytest.mark.rule("SIP-4")


def _call(
    detector: AutoDialerDetector,
    clock: FrozenClock,
    n: int,
    dialled: str,
    *,
    answered: bool = True,
    seconds: int = 120,
    gap_s: float = 1.0,
) -> None:
    detector.attempt(f"c{n}", dialled, (ALICE,))
    clock.advance(timedelta(seconds=gap_s))
    detector.ended(f"c{n}", answered=answered, billable_seconds=seconds if answered else 0)


def test_an_office_pattern_is_never_flagged() -> None:
    clock = FrozenClock(AT)
    detector = AutoDialerDetector(clock)
    destinations = ["0475123456", "025551234", "+3293000200", "0475123457", "081223344", "+33145678901"]
    for n in range(200):  # a few calls a minute, all day long; one in five short or unanswered
        odd = n % 5 == 0
        _call(
            detector, clock, n, destinations[n % len(destinations)], answered=not odd, seconds=180, gap_s=15
        )
    assert detector.blocks() == []


def test_a_burst_of_short_calls_at_a_high_rate_is_flagged() -> None:
    clock = FrozenClock(AT)
    detector = AutoDialerDetector(clock)
    numbers = ["0475123456", "025551234", "081223344"]
    for n in range(40):  # one call every 1.5 s (40/min), two thirds unanswered or under 10 s
        _call(detector, clock, n, numbers[n % 3], answered=n % 3 != 0, seconds=4, gap_s=1.5)
    (block,) = detector.blocks()
    assert block.subject == ALICE
    assert "attempts/min" in block.reason
    assert "short (< 10 s) or unanswered" in block.reason


def test_a_high_rate_of_long_answered_calls_alone_is_not_flagged() -> None:
    clock = FrozenClock(AT)
    detector = AutoDialerDetector(clock)
    for n in range(60):  # a busy call centre: many agents, but real conversations
        _call(detector, clock, n, ["0475123456", "025551234"][n % 2], seconds=300, gap_s=1)
    assert detector.blocks() == []


def test_sequential_destinations_are_flagged_even_slowly_and_answered() -> None:
    clock = FrozenClock(AT)
    detector = AutoDialerDetector(clock)
    for n in range(9):
        _call(detector, clock, n, f"+3247512{3400 + 2 * n:04d}", seconds=60, gap_s=5)
    assert detector.blocks() == []  # nine in a row: not yet
    _call(detector, clock, 9, "+32475123418", seconds=60, gap_s=5)
    (block,) = detector.blocks()
    assert "10 sequential destinations (>= 10)" in block.reason


def test_no_verdict_below_the_minimum_sample() -> None:
    clock = FrozenClock(AT)
    detector = AutoDialerDetector(clock, AutoDialerThresholds(min_sample=10, sequential_run=3))
    for n in range(9):
        _call(detector, clock, n, f"0475{n:06d}", answered=False, gap_s=0.1)
    assert detector.blocks() == []
    _call(detector, clock, 9, "0475000009", answered=False, gap_s=0.1)
    assert [b.subject for b in detector.blocks()] == [ALICE]


def test_old_calls_leave_the_window() -> None:
    clock = FrozenClock(AT)
    detector = AutoDialerDetector(clock, AutoDialerThresholds(window_s=60, min_sample=5))
    for n in range(8):  # eight short calls, but one every 20 s: never 30 a minute
        _call(detector, clock, n, ["0475123456", "025551234"][n % 2], answered=False, gap_s=20)
    assert detector.blocks() == []


def test_sequential_runs() -> None:
    assert longest_sequential_run(["0475000001", "0475000002", "0475000004", "0475000004"], 5) == 3
    assert longest_sequential_run(["100", "200", "201", "+32 202"], 5) == 2  # lengths differ
    assert longest_sequential_run([], 5) == 0


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="share"):
        AutoDialerThresholds(short_or_unanswered_share=0)
    with pytest.raises(ValueError, match="out of range"):
        AutoDialerThresholds(min_sample=0)


# -- inside the policy -------------------------------------------------------------------------


async def test_a_blocked_account_is_refused_citing_sip4_but_reaches_112_until_cleared() -> None:
    clock = FrozenClock(AT)
    policy = _policy(
        _snapshot(limit=100),
        autodialer=AutoDialerDetector(clock, AutoDialerThresholds(min_sample=5, max_attempts_per_min=5)),
    )
    for _ in range(5):
        attempt = _attempt()
        assert isinstance(await policy.authorize(attempt), Authorization)
        clock.advance(timedelta(seconds=1))
        policy.call_ended(replace(_ended(attempt), answered_at=AT, billable_seconds=2))
    (block,) = policy.autodialer_blocks()
    assert block.subject == ALICE
    assert block.since == AT + timedelta(seconds=5)
    verdict = await policy.authorize(_attempt())
    assert isinstance(verdict, Refusal)
    assert verdict.rule_id == "SIP-4"
    assert verdict.reason == block.reason
    assert refusal_status("SIP-4")[0] == 403
    emergency = await policy.authorize(_attempt(dialled="112", emergency=True))  # EMG-4
    assert isinstance(emergency, Authorization)
    assert policy.clear_autodialer_block("acc-a") is True
    assert policy.autodialer_blocks() == []
    assert isinstance(await policy.authorize(_attempt()), Authorization)
    assert policy.clear_autodialer_block("acc-a") is False


async def test_refused_and_inbound_calls_are_not_counted() -> None:
    clock = FrozenClock(AT)
    policy = _policy(
        _snapshot(limit=0),
        autodialer=AutoDialerDetector(clock, AutoDialerThresholds(min_sample=2, max_attempts_per_min=1)),
    )
    for _ in range(10):  # CAP-3 refusals: the policy let nothing through
        attempt = _attempt()
        assert _rule_id(await policy.authorize(attempt)) == "CAP-3"
        policy.call_ended(_ended(attempt, "CAP-3"))
    assert policy.autodialer_blocks() == []


def _rule_id(verdict: Authorization | Refusal) -> str | None:
    return verdict.rule_id if isinstance(verdict, Refusal) else None
