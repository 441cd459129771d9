"""SUP-1, SUP-2: support tickets, who may reach the desk out of hours, and the clocks of a ticket.

SUP-1: a ticket is the only proof of a request; a call or an e-mail counts once attached to one.
SUP-2: out of opening hours only direct final customers and partners, and only for a critical
problem (no incoming or outgoing calls, or very poor call quality), reach the on-duty staff; any
other ticket opened then waits for the next opening, and the requester is told when that is.
Response and resolution targets run in opening hours only, except for the tickets the on-duty
staff take, whose clocks run at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from nuage.support.hours import OpeningHours


class Criticality(StrEnum):
    """SUP-2: how badly the service is hit; only CRITICAL may reach the desk out of hours."""

    CRITICAL = "critical"  # no incoming or outgoing calls, or very poor call quality
    HIGH = "high"  # a feature or some users out of service
    NORMAL = "normal"  # a question, a change, a minor fault


class Category(StrEnum):
    """What a ticket is about."""

    NO_CALLS = "no_calls"
    CALL_QUALITY = "call_quality"
    CONFIGURATION = "configuration"
    HARDWARE = "hardware"
    BILLING = "billing"
    PORTING = "porting"
    OTHER = "other"


class RequesterKind(StrEnum):
    """SUP-2: who opens the ticket, as the terms distinguish them."""

    OPERATOR = "operator"
    PARTNER = "partner"  # for itself or for one of its customers
    DIRECT_CUSTOMER = "direct_customer"
    INDIRECT_CUSTOMER = "indirect_customer"  # served through a partner: its partner is its desk


#: SUP-2: a critical problem is one of these, whatever criticality the requester chose
CRITICAL_CATEGORIES = frozenset({Category.NO_CALLS, Category.CALL_QUALITY})


def criticality_of(category: Category, chosen: Criticality) -> Criticality:
    """SUP-2: no calls or very poor quality is critical; any other category is at most HIGH."""
    if category in CRITICAL_CATEGORIES:
        return Criticality.CRITICAL
    return Criticality.HIGH if chosen is Criticality.CRITICAL else chosen


def out_of_hours_eligible(requester: RequesterKind, criticality: Criticality) -> bool:
    """SUP-2: who reaches the on-duty staff out of hours: direct customers and partners, critical only."""
    return criticality is Criticality.CRITICAL and requester in (
        RequesterKind.DIRECT_CUSTOMER,
        RequesterKind.PARTNER,
    )


@dataclass(frozen=True)
class Targets:
    """SUP-2: response and resolution times for one criticality, counted in opening hours."""

    response: timedelta
    resolution: timedelta


#: SUP-2 decision: the terms set the hours, not the targets; these are the operator's defaults
DEFAULT_TARGETS: Mapping[Criticality, Targets] = {
    Criticality.CRITICAL: Targets(response=timedelta(hours=1), resolution=timedelta(hours=4)),
    Criticality.HIGH: Targets(response=timedelta(hours=4), resolution=timedelta(hours=16)),
    Criticality.NORMAL: Targets(response=timedelta(hours=8), resolution=timedelta(hours=40)),
}


@dataclass(frozen=True)
class Handling:
    """SUP-2: when a ticket opened at some instant is taken up, and its deadlines."""

    on_duty: bool  # taken by the on-duty staff out of hours
    starts_at: datetime  # when the desk takes it up (the requester is told this instant)
    respond_by: datetime
    resolve_by: datetime


def handling(
    opened_at: datetime,
    requester: RequesterKind,
    criticality: Criticality,
    hours: OpeningHours,
    targets: Mapping[Criticality, Targets] = DEFAULT_TARGETS,
) -> Handling:
    """SUP-2: who takes a ticket up, when, and by when it is answered and resolved."""
    goal = targets[criticality]
    if hours.is_open(opened_at):
        return Handling(
            False,
            opened_at,
            hours.add_open_time(opened_at, goal.response),
            hours.add_open_time(opened_at, goal.resolution),
        )
    if out_of_hours_eligible(requester, criticality):
        # the on-duty staff's clock runs at once, not in opening hours
        return Handling(True, opened_at, opened_at + goal.response, opened_at + goal.resolution)
    starts = hours.next_opening(opened_at)
    return Handling(
        False,
        starts,
        hours.add_open_time(starts, goal.response),
        hours.add_open_time(starts, goal.resolution),
    )


def at_risk(deadline: datetime, now: datetime, hours: OpeningHours, margin: timedelta) -> bool:
    """SUP-2: a deadline not met yet with at most ``margin`` of opening time left before it."""
    return now < deadline and hours.open_time_between(now, deadline) <= margin
