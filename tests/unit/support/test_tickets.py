"""SUP-2: who reaches the desk out of hours, and the clocks of a ticket."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nuage.support.hours import BRUSSELS, OpeningHours
from nuage.support.tickets import (
    Category,
    Criticality,
    RequesterKind,
    at_risk,
    criticality_of,
    handling,
    out_of_hours_eligible,
)

HOURS = OpeningHours()
SATURDAY_NIGHT = datetime(2026, 12, 12, 22, 0, tzinfo=BRUSSELS)
MONDAY_OPENING = datetime(2026, 12, 14, 8, 30, tzinfo=BRUSSELS)


@pytest.mark.rule("SUP-2")
def test_no_calls_and_poor_quality_are_critical_nothing_else_is() -> None:
    assert criticality_of(Category.NO_CALLS, Criticality.NORMAL) is Criticality.CRITICAL
    assert criticality_of(Category.CALL_QUALITY, Criticality.HIGH) is Criticality.CRITICAL
    assert criticality_of(Category.BILLING, Criticality.CRITICAL) is Criticality.HIGH
    assert criticality_of(Category.CONFIGURATION, Criticality.NORMAL) is Criticality.NORMAL


@pytest.mark.rule("SUP-2")
@pytest.mark.parametrize(
    ("requester", "criticality", "eligible"),
    [
        (RequesterKind.DIRECT_CUSTOMER, Criticality.CRITICAL, True),
        (RequesterKind.PARTNER, Criticality.CRITICAL, True),
        (RequesterKind.INDIRECT_CUSTOMER, Criticality.CRITICAL, False),  # its partner is its desk
        (RequesterKind.DIRECT_CUSTOMER, Criticality.HIGH, False),
        (RequesterKind.PARTNER, Criticality.NORMAL, False),
    ],
)
def test_out_of_hours_only_direct_customers_and_partners_with_a_critical_problem(
    requester: RequesterKind, criticality: Criticality, eligible: bool
) -> None:
    assert out_of_hours_eligible(requester, criticality) is eligible
    taken = handling(SATURDAY_NIGHT, requester, criticality, HOURS)
    assert taken.on_duty is eligible
    assert taken.starts_at == (SATURDAY_NIGHT if eligible else MONDAY_OPENING)


@pytest.mark.rule("SUP-2")
def test_deadlines_count_opening_hours_except_for_the_on_duty_staff() -> None:
    on_duty = handling(SATURDAY_NIGHT, RequesterKind.PARTNER, Criticality.CRITICAL, HOURS)
    assert (on_duty.respond_by, on_duty.resolve_by) == (
        SATURDAY_NIGHT + timedelta(hours=1),
        SATURDAY_NIGHT + timedelta(hours=4),
    )
    waiting = handling(SATURDAY_NIGHT, RequesterKind.INDIRECT_CUSTOMER, Criticality.NORMAL, HOURS)
    assert waiting.respond_by == MONDAY_OPENING + timedelta(hours=8)  # 8:30 + 8 h = 16:30 Monday
    # 40 h of opening time: Monday to Thursday give 4 × 9.5 h = 38 h, then 2 h on Friday from 8:30
    assert waiting.resolve_by == datetime(2026, 12, 18, 10, 30, tzinfo=BRUSSELS)
    friday_afternoon = datetime(2026, 12, 11, 15, 30, tzinfo=BRUSSELS)
    in_hours = handling(friday_afternoon, RequesterKind.INDIRECT_CUSTOMER, Criticality.CRITICAL, HOURS)
    assert not in_hours.on_duty
    assert in_hours.respond_by == datetime(2026, 12, 14, 9, 0, tzinfo=BRUSSELS)


@pytest.mark.rule("SUP-2")
def test_a_ticket_is_at_risk_with_little_opening_time_left() -> None:
    deadline = datetime(2026, 12, 14, 9, 0, tzinfo=BRUSSELS)  # Monday 9:00
    friday_evening = datetime(2026, 12, 11, 15, 45, tzinfo=BRUSSELS)
    assert at_risk(deadline, friday_evening, HOURS, timedelta(hours=1))  # 15 min + 30 min left
    assert not at_risk(deadline, friday_evening, HOURS, timedelta(minutes=30))
    assert not at_risk(deadline, deadline, HOURS, timedelta(hours=1))  # missed, not at risk
