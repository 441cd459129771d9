"""The policy's state: per-trunk channels (SIP-3/CAP-3), SIP-4 per trunk and its write-behind
journal, the SIP-5 daily spending cap, the REPLACE caller ID (SIP-2), and the policy on the
Redis channel counter."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nuage.adapters.redis_channels import RedisChannels
from nuage.directory.model import Trunk, TrunkAuth
from nuage.policy import (
    AutoDialerBlock,
    AutoDialerDetector,
    AutoDialerThresholds,
    CallerIdMode,
    DailySpend,
    PolicySnapshot,
    StaticSnapshot,
    Subject,
    TermsCallPolicy,
    TrunkTerms,
    trunk_holder,
)
from nuage.rating.tariffs import Tariff, TariffBook
from nuage.shared.clock import FrozenClock
from nuage.sip.ports import Authorization, CallAttempt, CdrRecord, Refusal, TrunkDestination
from nuage.sip.responses import refusal_status
from waiting import wait_for_condition

from .test_channels_shared import REDIS_URL, needs_redis
from .test_terms_policy import AT, _attempt, _ended, _rule, _snapshot

BOOK = TariffBook(
    [Tariff("retail-1", AT - timedelta(days=30), {"32": Decimal("0.05"), "324": Decimal("0.60")})]
)
MOBILE = "+32475123456"  # 0.60 EUR a minute: one cent a second


def _with(snapshot: PolicySnapshot, **changes: object) -> PolicySnapshot:
    return replace(snapshot, **changes)  # type: ignore[arg-type]


def _trunk_attempt(**kwargs: object) -> CallAttempt:
    return replace(_attempt(**kwargs), customer_trunk_id="pbx")  # type: ignore[arg-type]


def _answered(attempt: CallAttempt, seconds: int) -> CdrRecord:
    return replace(_ended(attempt), answered_at=AT, billable_seconds=seconds)


def _policy(snapshot: PolicySnapshot, clock: FrozenClock | None = None, **kwargs: object) -> TermsCallPolicy:
    clock = clock or FrozenClock(AT)
    return TermsCallPolicy(
        StaticSnapshot(snapshot),
        clock=clock,
        spend=DailySpend(clock, max_call_s=4 * 3600),
        autodialer=AutoDialerDetector(clock),
        **kwargs,  # type: ignore[arg-type]
    )


# -- SIP-3 / CAP-3: a trunk's own channel limit ---------------------------------------------------


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("SIP-3")
async def test_a_full_trunk_refuses_citing_cap_3_though_the_account_has_channels() -> None:
    snapshot = _with(_snapshot(users_a=2), trunks={"pbx": TrunkTerms("pbx", "acc-a", channel_limit=1)})
    policy = _policy(snapshot)  # the account has 4 channels (CAP-1), the trunk 1
    first = _trunk_attempt()
    assert isinstance(await policy.authorize(first), Authorization)
    refused = await policy.authorize(_trunk_attempt())
    assert _rule(refused) == "CAP-3"
    assert refused.reason == "all 1 channels of the trunk are in use"  # type: ignore[union-attr]
    assert refusal_status("CAP-3")[0] == 486
    assert isinstance(await policy.authorize(_attempt()), Authorization)  # a phone of the account
    assert (policy.channels.in_use("acc-a"), policy.channels.in_use(trunk_holder("pbx"))) == (2, 1)
    policy.call_ended(_ended(first))
    assert isinstance(await policy.authorize(_trunk_attempt()), Authorization)


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("SIP-3")
async def test_a_call_to_a_trunk_holds_its_channel_and_emergency_passes_a_full_trunk() -> None:
    snapshot = _with(_snapshot(), trunks={"pbx": TrunkTerms("pbx", "acc-a", channel_limit=1)})
    policy = _policy(snapshot)
    to_pbx = TrunkDestination("pbx", "acc-a")
    from nuage.sip.ports import Direction

    assert isinstance(
        await policy.authorize(_attempt(Direction.INBOUND, destination=to_pbx, caller_id="+3211")),
        Authorization,
    )
    refused = await policy.authorize(_attempt(Direction.INBOUND, destination=to_pbx, caller_id="+3212"))
    assert _rule(refused) == "CAP-3"
    sos = _trunk_attempt(dialled="112", emergency=True)
    assert isinstance(await policy.authorize(sos), Authorization)  # EMG-4
    assert policy.channels.in_use(trunk_holder("pbx")) == 2


def test_the_snapshot_loads_each_trunks_channel_limit() -> None:
    from nuage.policy import build_snapshot

    trunk = Trunk("pbx", "acc-a", "PBX", TrunkAuth.IP, AT, allowed_ips="10.0.0.1", channel_limit=8)
    snapshot = build_snapshot([], [], [], [], [], AT.date(), trunks=[trunk])
    assert snapshot.trunks == {"pbx": TrunkTerms("pbx", "acc-a", 8)}


# -- SIP-4 per customer trunk, and what is written behind -----------------------------------------


@pytest.mark.rule("SIP-4")
@pytest.mark.rule("SIP-3")
async def test_an_auto_dialing_trunk_is_blocked_while_the_accounts_phones_still_call() -> None:
    policy = _policy(_snapshot())
    policy.autodialer.thresholds = AutoDialerThresholds(min_sample=3, sequential_run=3)
    for n in range(3):
        attempt = _trunk_attempt(dialled=f"04751234{n:02d}")
        assert isinstance(await policy.authorize(attempt), Authorization)
        policy.call_ended(_ended(attempt))
    blocks = policy.autodialer_blocks()
    assert {b.subject for b in blocks} == {Subject("trunk", "pbx"), Subject("account", "acc-a")}
    policy.clear_autodialer_block("acc-a")  # the operator lifts the account's, not the trunk's
    refused = await policy.authorize(_trunk_attempt(dialled="0475999999"))
    assert _rule(refused) == "SIP-4"
    assert "3 sequential destinations" in refused.reason  # type: ignore[union-attr]
    assert isinstance(await policy.authorize(_attempt()), Authorization)  # a phone of the account
    assert isinstance(await policy.authorize(_trunk_attempt(dialled="112", emergency=True)), Authorization)
    (trunk_block,) = policy.autodialer_blocks()
    assert trunk_block.account_id == "acc-a"
    journal = [(e.subject, e.block is not None) for e in policy.autodialer.journal]
    assert (Subject("trunk", "pbx"), True) in journal
    assert journal[-1] == (Subject("account", "acc-a"), False)  # the clearing, to write behind


@pytest.mark.rule("SIP-4")
async def test_blocks_stored_are_adopted_and_blocks_cleared_elsewhere_are_dropped() -> None:
    stored = AutoDialerBlock(Subject("account", "acc-a"), AT, "found by another node", "acc-a")
    source = StaticSnapshot(_with(_snapshot(), autodialer_blocks=[stored]))
    clock = FrozenClock(AT)
    policy = TermsCallPolicy(source, clock=clock, autodialer=AutoDialerDetector(clock))
    assert _rule(await policy.authorize(_attempt())) == "SIP-4"  # a restart keeps the block
    policy.autodialer.journal.clear()  # as the adapter drains it before reading
    source.snapshot = _with(_snapshot(), autodialer_blocks=[])  # the operator cleared it elsewhere
    assert policy.autodialer_blocks() == []
    assert isinstance(await policy.authorize(_attempt()), Authorization)


@pytest.mark.rule("SIP-4")
async def test_a_block_not_yet_written_survives_a_reload_that_does_not_have_it() -> None:
    source = StaticSnapshot(_with(_snapshot(), autodialer_blocks=[]))
    clock = FrozenClock(AT)
    policy = TermsCallPolicy(source, clock=clock, autodialer=AutoDialerDetector(clock))
    policy.autodialer.thresholds = AutoDialerThresholds(min_sample=3, sequential_run=3)
    for n in range(3):
        await policy.authorize(_attempt(dialled=f"04751234{n:02d}"))
    source.snapshot = _with(_snapshot(), autodialer_blocks=[])  # read before the block was written
    assert [b.subject for b in policy.autodialer_blocks()] == [Subject("account", "acc-a")]


# -- SIP-5: the daily spending cap ---------------------------------------------------------------


def _capped(cap: str) -> PolicySnapshot:
    return _with(_snapshot(users_a=5), spend_caps={"acc-a": Decimal(cap)}, tariffs=BOOK)


@pytest.mark.rule("SIP-5")
async def test_an_authorised_call_may_last_only_what_the_budget_left_buys() -> None:
    policy = _policy(_capped("1.00"))
    call = await policy.authorize(_attempt(dialled="0475123456"))
    assert isinstance(call, Authorization)
    assert call.max_duration == timedelta(seconds=99)  # 1.00 EUR at 1 ct/s, minus the rounding second
    assert policy.spend.reserved("acc-a") == Decimal("1.00")


@pytest.mark.rule("SIP-5")
async def test_once_the_cap_is_reached_calls_are_refused_citing_sip_5_but_not_emergency() -> None:
    policy = _policy(_capped("1.00"))
    first = _attempt(dialled="0475123456")
    await policy.authorize(first)
    refused = await policy.authorize(_attempt(dialled="0475123457"))  # all reserved by the first
    assert _rule(refused) == "SIP-5"
    policy.call_ended(_answered(first, 61))  # 61 s at 0.60/min: 0.61 EUR
    assert policy.spend.spent("acc-a") == Decimal("0.61")
    second = await policy.authorize(_attempt(dialled="0475123458"))
    assert isinstance(second, Authorization)
    assert second.max_duration == timedelta(seconds=38)
    policy.call_ended(_answered(_attempt(), 0))  # an unknown call changes nothing
    third = await policy.authorize(_attempt(dialled="0475123459"))
    assert _rule(third) == "SIP-5"
    assert "daily spending cap of 1.00 EUR reached" in third.reason  # type: ignore[union-attr]
    assert refusal_status("SIP-5")[0] == 403
    sos = await policy.authorize(_attempt(dialled="112", emergency=True))  # EMG-4
    assert isinstance(sos, Authorization)
    assert sos.max_duration is None  # never cut


@pytest.mark.rule("SIP-5")
async def test_the_cap_counts_per_brussels_day_and_restored_spend() -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 22, 30, tzinfo=UTC))  # 23:30 in Brussels
    policy = _policy(_capped("5.00"), clock)
    policy.restore_spend(clock.now().date(), {"acc-a": Decimal("5.00")})  # today's CDRs
    assert _rule(await policy.authorize(_attempt())) == "SIP-5"
    clock.advance(timedelta(hours=1))  # 00:30 in Brussels: a new business day
    assert isinstance(await policy.authorize(_attempt()), Authorization)


@pytest.mark.rule("SIP-5")
async def test_a_capped_account_may_not_call_a_destination_no_tariff_prices() -> None:
    policy = _policy(_capped("10.00"))
    unknown = replace(_attempt(), destination=replace(_attempt().destination, e164="+8821234567"))  # type: ignore[type-var]
    assert _rule(await policy.authorize(unknown)) == "SIP-5"
    uncapped = _policy(_with(_snapshot(), tariffs=BOOK))
    assert isinstance(await uncapped.authorize(unknown), Authorization)


@pytest.mark.rule("SIP-5")
async def test_a_budget_is_given_back_when_the_call_is_refused_for_capacity() -> None:
    policy = _policy(_with(_capped("1.00"), trunks={"pbx": TrunkTerms("pbx", "acc-a", channel_limit=0)}))
    assert _rule(await policy.authorize(_trunk_attempt())) == "CAP-3"
    assert policy.spend.reserved("acc-a") == 0


@pytest.mark.rule("SIP-5")
async def test_without_a_cap_calls_are_still_counted_for_a_cap_set_later() -> None:
    source = StaticSnapshot(_with(_snapshot(), tariffs=BOOK))
    clock = FrozenClock(AT)
    policy = TermsCallPolicy(source, clock=clock, spend=DailySpend(clock))
    call = _attempt()
    verdict = await policy.authorize(call)
    assert isinstance(verdict, Authorization)
    assert verdict.max_duration is None
    policy.call_ended(_answered(call, 100))
    assert policy.spend.spent("acc-a") == Decimal("1.00")


# -- SIP-2: REPLACE presents the account's main number ---------------------------------------------


@pytest.mark.rule("SIP-2")
async def test_in_replace_mode_the_authorisation_carries_the_accounts_main_number() -> None:
    policy = _policy(_snapshot(), caller_id_mode=CallerIdMode.REPLACE)
    replaced = await policy.authorize(_attempt(caller_id="+3293000200"))
    own = await policy.authorize(_attempt(caller_id="+3223000101"))
    assert isinstance(replaced, Authorization)
    assert isinstance(own, Authorization)
    assert replaced.caller_id == "+3223000100"
    assert own.caller_id == "+3223000101"  # a number of the account is presented as it is
    national = await policy.authorize(_attempt(caller_id="023000101"))
    assert isinstance(national, Authorization)
    assert national.caller_id == "+3223000101"  # in E.164, whatever form the caller used


# -- the policy on the Redis counter -------------------------------------------------------------


async def _counted_in_redis(node: RedisChannels, holder: str, expected: int) -> None:
    async def counted() -> bool:
        return await node.totals([holder]) == {holder: expected}

    await wait_for_condition(counted, timeout=10, what=f"{expected} channels of {holder} in Redis")


@needs_redis
@pytest.mark.rule("CAP-3")
async def test_two_policies_on_two_nodes_share_the_accounts_capacity() -> None:
    import redis.asyncio

    prefix = f"nuage-test:{secrets.token_hex(6)}:"
    nodes = [RedisChannels(REDIS_URL, node_id=f"node-{n}", prefix=prefix) for n in range(2)]
    for node in nodes:
        await node.start()
    try:
        first, second = (_policy(_snapshot(users_a=1), channels=node) for node in nodes)  # 2 channels
        one, two = _attempt(), _attempt()
        assert isinstance(await first.authorize(one), Authorization)
        assert isinstance(await second.authorize(two), Authorization)
        assert _rule(await first.authorize(_attempt())) == "CAP-3"
        sos = _attempt(dialled="112", emergency=True)
        assert isinstance(await second.authorize(sos), Authorization)  # EMG-4, beyond capacity
        first.call_ended(_ended(one))
        await _counted_in_redis(nodes[0], "acc-a", 2)  # the release reaches Redis in the background
        assert _rule(await second.authorize(_attempt())) == "CAP-3"  # two and 112 hold both
        second.call_ended(_ended(sos))
        await _counted_in_redis(nodes[0], "acc-a", 1)
        assert isinstance(await first.authorize(_attempt()), Authorization)
    finally:
        for node in nodes:
            await node.stop()
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def test_a_refusal_carries_its_rule() -> None:
    assert Refusal("SIP-5", "x").rule_id == "SIP-5"
