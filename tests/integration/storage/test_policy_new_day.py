"""The call policy takes a new Brussels day without reading everything again: only the accounts
whose terms depend on the day (a CAP-2 pack starting or ending) are computed again, and the
snapshot is the one a full read on that day gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from nuage.bootstrap import Platform
from nuage.directory.model import TrafficPack
from nuage.policy.snapshot import PolicySnapshot
from nuage.services.demo import load_demo
from nuage.shared.clock import BUSINESS_TZ, FrozenClock, business_date
from nuage.shared.ids import new_id
from nuage.storage.sql.policy_adapters import SqlPolicySnapshot
from nuage.tenancy.model import PartyKind


def _full_read(platform: Platform) -> PolicySnapshot:
    fresh = SqlPolicySnapshot(platform.engine, clock=platform.clock)
    fresh._view._value = fresh._load()
    assert fresh.full_loads == 1
    return fresh.snapshot


@pytest.mark.rule("CAP-2")
async def test_a_new_day_computes_only_the_accounts_whose_packs_start_or_end(
    platform: Platform, clock: FrozenClock
) -> None:
    day = date(2026, 3, 28)  # the night before summer time: Brussels midnight is 23:00 UTC
    clock.set(datetime(2026, 3, 28, 23, 59, 50, tzinfo=BUSINESS_TZ))
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    with platform.uow() as uow:
        customers = [p for p in uow.parties.list() if p.kind is PartyKind.CUSTOMER]
        ending, starting, steady = customers[0].id, customers[1].id, customers[2].id
        now = clock.now()
        earlier, tomorrow = day - timedelta(days=3), day + timedelta(days=1)
        for account, name, valid_from, limit, until in (
            (ending, "Ends tonight", earlier, 7, day),
            (starting, "Starts tomorrow", tomorrow, 9, None),
            (steady, "For good", earlier, 5, None),
        ):
            pack = TrafficPack(
                new_id("pack"), account, name, 1, now, valid_from, channel_limit=limit, valid_until=until
            )
            uow.packs.add(pack)
        uow.commit()
    policy = SqlPolicySnapshot(platform.engine, clock=platform.clock)
    await policy.reload()
    before = policy.snapshot
    assert policy.full_loads == 1
    assert before.on == day
    assert before.accounts[ending].channels == 7
    assert before.accounts[starting].capacity_rule == "CAP-1"
    assert before.accounts[steady].channels == 5
    assert before.due_on(day + timedelta(days=1)) == {ending, starting}

    clock.advance(timedelta(seconds=20))  # past midnight in Brussels (22:59:10 UTC was before it)
    assert business_date(clock.now()) == day + timedelta(days=1)
    await policy.reload()
    after = policy.snapshot
    assert policy.full_loads == 1  # no full read on the new day
    assert policy.days_rolled == 1
    assert after.on == day + timedelta(days=1)
    assert after.accounts[ending].capacity_rule == "CAP-1"  # its pack ended with the day
    assert after.accounts[starting].channels == 9  # CAP-2: its pack is in force
    assert after.accounts[steady] is before.accounts[steady]  # not computed again
    full = _full_read(platform)
    assert after.on == full.on
    assert after.accounts == full.accounts
    assert after.trunks == full.trunks
    assert after.spend_caps == full.spend_caps
    assert after.review_on == full.review_on

    await policy.reload()  # the same day again: nothing to do
    assert policy.snapshot is after
    assert (policy.full_loads, policy.days_rolled) == (1, 1)
