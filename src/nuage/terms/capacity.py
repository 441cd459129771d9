"""Channel capacity of an account (CAP-1, CAP-2, SIP-3).

CAP-3 enforcement lives in the SIP data plane; this module only computes.

SIP-3 decision: a SIP trunk is subscribed with a channel count (``Trunk.channel_limit``): the
channels the customer pays for each month (counted as ``trunk_channels``), the calls the trunk may
hold at once (CAP-3), and channels added to the account's capacity on top of the users' (CAP-1) or
the pack's (CAP-2): the users' channels serve the hosted phones, the trunk's the customer's own PBX.
A PBX-only account thus has the capacity its trunks pay for, and a trunk with no channel count
adds none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from nuage.directory.model import TrafficPack, Trunk, User
from nuage.tenancy.model import CapacityReading


@dataclass(frozen=True)
class Band:
    """One CAP-1 band: up to ``up_to`` billable users (inclusive), so many channels per user."""

    up_to: int | None  # None: unbounded
    channels_per_user: Fraction


CAP_1_BANDS = (
    Band(up_to=2, channels_per_user=Fraction(2)),
    Band(up_to=5, channels_per_user=Fraction(1)),
    Band(up_to=10, channels_per_user=Fraction(1, 2)),
    Band(up_to=None, channels_per_user=Fraction(1, 4)),
)


def channel_capacity(billable_users: int, reading: CapacityReading = CapacityReading.LITERAL) -> int:
    """CAP-1: simultaneous calls an account may hold, rounded up to a whole channel."""
    if billable_users <= 0:
        return 0
    if reading is CapacityReading.LITERAL:
        band = next(b for b in CAP_1_BANDS if b.up_to is None or billable_users <= b.up_to)
        return math.ceil(billable_users * band.channels_per_user)
    channels, counted = Fraction(0), 0
    for band in CAP_1_BANDS:
        top = billable_users if band.up_to is None else min(billable_users, band.up_to)
        channels += (top - counted) * band.channels_per_user
        counted = top
        if counted == billable_users:
            break
    return math.ceil(channels)


def billable_users(users: Iterable[User]) -> int:
    """CFG-1, CFG-2: every declared user counts once, except no-service users."""
    return sum(1 for user in users if user.billable)


@dataclass(frozen=True)
class Capacity:
    """An account's channel capacity and where it comes from."""

    channels: int
    rule_id: str  # "CAP-1" (formula) or "CAP-2" (pack limit)
    billable_users: int
    reading: CapacityReading
    pack_id: str | None = None
    trunk_channels: int = 0  # SIP-3: channels the account's trunks subscribe, included in ``channels``


def trunk_channels(trunks: Iterable[Trunk]) -> int:
    """SIP-3: the channels an account's trunks subscribe (and pay for)."""
    return sum(trunk.channel_limit or 0 for trunk in trunks)


def account_capacity(
    users: Iterable[User],
    packs: Iterable[TrafficPack],
    reading: CapacityReading,
    on: date,
    trunks: Iterable[Trunk] = (),
) -> Capacity:
    """CAP-1 from billable users, unless a pack in force fixes a channel limit (CAP-2).

    CAP-2 decision: when several packs in force fix a limit, the largest limit applies;
    packs do not add channels to each other.
    """
    count = billable_users(users)
    extra = trunk_channels(trunks)  # SIP-3: on top of CAP-1 or CAP-2 (module docstring)
    limiting = [p for p in packs if p.channel_limit is not None and p.active_on(on)]
    if limiting:
        best = max(limiting, key=lambda p: (p.channel_limit or 0, p.id))
        return Capacity((best.channel_limit or 0) + extra, "CAP-2", count, reading, best.id, extra)
    return Capacity(channel_capacity(count, reading) + extra, "CAP-1", count, reading, None, extra)
