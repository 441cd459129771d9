"""The terms-based call policy, rule by rule, on an in-memory snapshot."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from nuage.directory.model import (
    Device,
    DeviceKind,
    NumberScope,
    PhoneNumber,
    TrafficPack,
    Trunk,
    TrunkAuth,
    User,
)
from nuage.policy import (
    CallerIdMode,
    ChannelCounter,
    PolicySnapshot,
    StaticSnapshot,
    TermsCallPolicy,
    build_snapshot,
)
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CallOutcome,
    CarrierTrunk,
    CdrRecord,
    Destination,
    Direction,
    ExternalDestination,
    Refusal,
    UserDestination,
)
from nuage.sip.responses import refusal_status
from nuage.tenancy.model import Party, PartyKind, PartyStatus

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = date(2026, 3, 2)
CARRIER = CarrierTrunk("carrier", "127.0.0.1", 5090)


def _snapshot(
    *, users_a: int = 2, status_a: PartyStatus = PartyStatus.ACTIVE, limit: int | None = None
) -> PolicySnapshot:
    parties = [
        Party("acc-a", PartyKind.CUSTOMER, "A", AT, status=status_a),
        Party("acc-b", PartyKind.CUSTOMER, "B", AT),
        Party("op", PartyKind.OPERATOR, "Operator", AT),
    ]
    users = [User(f"ua{i}", "acc-a", f"A{i}", AT) for i in range(users_a)]
    users += [User("ub0", "acc-b", "B0", AT), User("ub1", "acc-b", "B1", AT, no_service=True)]
    packs = (
        [TrafficPack("pack", "acc-a", "Pack", 1, AT, DAY, channel_limit=limit)] if limit is not None else []
    )
    numbers = [
        PhoneNumber("n1", "acc-a", "+3223000100", NumberScope.NATIONAL, AT, main=True),
        PhoneNumber("n2", "acc-a", "+3223000101", NumberScope.NATIONAL, AT),
        PhoneNumber("n3", "acc-b", "+3293000200", NumberScope.NATIONAL, AT, main=True),
    ]
    devices = [
        Device("da", "acc-a", DeviceKind.DESK_PHONE, "A phone", AT, user_id="ua0", sip_username="alice"),
        Device("db", "acc-b", DeviceKind.DESK_PHONE, "B phone", AT, user_id="ub0", sip_username="jan"),
    ]
    return build_snapshot(parties, users, packs, numbers, devices, DAY)


_serial = iter(range(1_000_000))


def _attempt(
    direction: Direction = Direction.OUTBOUND,
    *,
    account: str = "acc-a",
    caller_id: str = "alice",
    dialled: str = "0475123456",
    destination: Destination | None = None,
    emergency: bool = False,
) -> CallAttempt:
    if destination is None:
        destination = ExternalDestination(
            dialled if emergency else "+32475123456", CARRIER, emergency=emergency
        )
    return CallAttempt(
        call_id=f"call-{next(_serial)}",
        direction=direction,
        account_id=account,
        device_id=None if direction is Direction.INBOUND else "da",
        user_id=None,
        presented_caller_id=caller_id,
        source_host="127.0.0.1",
        source_port=5070,
        dialled=dialled,
        destination=destination,
        emergency=emergency,
        trunk_id="carrier",
    )


def _ended(attempt: CallAttempt, refusal_rule: str | None = None) -> CdrRecord:
    return CdrRecord(
        call_id=attempt.call_id,
        caller=attempt.presented_caller_id,
        callee=attempt.dialled,
        account_id=attempt.account_id,
        device_id=attempt.device_id,
        trunk_id=attempt.trunk_id,
        direction=attempt.direction,
        started_at=AT,
        answered_at=None,
        ended_at=AT,
        billable_seconds=0,
        outcome=CallOutcome.REFUSED if refusal_rule else CallOutcome.ANSWERED,
        sip_status=403 if refusal_rule else 200,
        refusal_rule_id=refusal_rule,
        emergency=attempt.emergency,
    )


def _policy(snapshot: PolicySnapshot, **kwargs: object) -> TermsCallPolicy:
    return TermsCallPolicy(StaticSnapshot(snapshot), **kwargs)  # type: ignore[arg-type]


def _rule(verdict: Authorization | Refusal) -> str | None:
    return verdict.rule_id if isinstance(verdict, Refusal) else None


# -- EMG-4 ------------------------------------------------------------------------------------


@pytest.mark.rule("EMG-4")
@pytest.mark.parametrize("status", list(PartyStatus))
async def test_emergency_calls_go_through_whatever_the_status_and_capacity(status: PartyStatus) -> None:
    policy = _policy(_snapshot(status_a=status, limit=0))
    for number in ("112", "100", "101"):
        verdict = await policy.authorize(_attempt(dialled=number, emergency=True, caller_id="+3299999999"))
        assert isinstance(verdict, Authorization)
        assert verdict.max_duration is None
    assert policy.channels.in_use("acc-a") == 3  # they hold channels, beyond capacity


@pytest.mark.rule("EMG-4")
async def test_an_account_unknown_to_the_snapshot_still_reaches_emergency() -> None:
    policy = _policy(PolicySnapshot())
    assert isinstance(await policy.authorize(_attempt(dialled="112", emergency=True)), Authorization)
    assert _rule(await policy.authorize(_attempt())) == "CAP-3"


# -- PAY-3 / CTR-4 ------------------------------------------------------------------------------


@pytest.mark.rule("PAY-3")
async def test_a_suspended_account_may_call_emergency_numbers_and_nothing_else() -> None:
    policy = _policy(_snapshot(status_a=PartyStatus.SUSPENDED))
    assert isinstance(await policy.authorize(_attempt(dialled="112", emergency=True)), Authorization)
    outbound = await policy.authorize(_attempt())
    internal = await policy.authorize(
        _attempt(Direction.INTERNAL, destination=UserDestination("ua1", "acc-a", ()), dialled="212")
    )
    assert _rule(outbound) == _rule(internal) == "PAY-3"
    assert refusal_status("PAY-3")[0] == 403


@pytest.mark.rule("PAY-3")
async def test_calls_to_a_suspended_account_are_refused() -> None:
    policy = _policy(_snapshot(status_a=PartyStatus.SUSPENDED))
    to_a = UserDestination("ua0", "acc-a", ("da",))
    inbound = await policy.authorize(_attempt(Direction.INBOUND, destination=to_a, caller_id="+32475123456"))
    from_b = await policy.authorize(_attempt(Direction.INTERNAL, account="acc-b", destination=to_a))
    assert _rule(inbound) == _rule(from_b) == "PAY-3"
    assert "suspended" in inbound.reason  # type: ignore[union-attr]


@pytest.mark.rule("CTR-4")
async def test_a_bankrupt_account_gets_no_service_but_emergency() -> None:
    policy = _policy(_snapshot(status_a=PartyStatus.BANKRUPT))
    assert _rule(await policy.authorize(_attempt())) == "CTR-4"
    to_a = UserDestination("ua0", "acc-a", ("da",))
    assert _rule(await policy.authorize(_attempt(Direction.INBOUND, destination=to_a))) == "CTR-4"
    assert isinstance(await policy.authorize(_attempt(dialled="112", emergency=True)), Authorization)


@pytest.mark.rule("CTR-2")
async def test_a_terminated_account_gets_no_service_but_emergency() -> None:
    policy = _policy(_snapshot(status_a=PartyStatus.TERMINATED))
    assert _rule(await policy.authorize(_attempt())) == "CTR-2"
    assert isinstance(await policy.authorize(_attempt(dialled="112", emergency=True)), Authorization)


# -- SIP-2 ----------------------------------------------------------------------------------------


@pytest.mark.rule("SIP-2")
@pytest.mark.parametrize(
    "presented", ["alice", "anonymous", "", "+3223000100", "+3223000101", "023000101", "0032 2 300 01 01"]
)
async def test_an_outbound_call_may_present_the_accounts_numbers_or_identity(presented: str) -> None:
    policy = _policy(_snapshot())
    assert isinstance(await policy.authorize(_attempt(caller_id=presented)), Authorization)


@pytest.mark.rule("SIP-2")
@pytest.mark.parametrize("presented", ["+3293000200", "093000200", "jan", "+3223000199", "not-a-number"])
async def test_a_foreign_caller_id_is_refused(presented: str) -> None:
    policy = _policy(_snapshot())
    verdict = await policy.authorize(_attempt(caller_id=presented))
    assert _rule(verdict) == "SIP-2"
    assert refusal_status("SIP-2")[0] == 403
    assert policy.channels.in_use("acc-a") == 0


@pytest.mark.rule("SIP-2")
async def test_the_operator_may_replace_a_foreign_caller_id_instead() -> None:
    policy = _policy(_snapshot(), caller_id_mode=CallerIdMode.REPLACE)
    assert isinstance(await policy.authorize(_attempt(caller_id="+3293000200")), Authorization)


@pytest.mark.rule("SIP-2")
async def test_caller_id_is_not_checked_on_inbound_and_internal_calls() -> None:
    policy = _policy(_snapshot())
    to_a = UserDestination("ua0", "acc-a", ("da",))
    assert isinstance(
        await policy.authorize(_attempt(Direction.INBOUND, destination=to_a, caller_id="+3299999999")),
        Authorization,
    )
    assert isinstance(
        await policy.authorize(_attempt(Direction.INTERNAL, destination=to_a, caller_id="+3299999999")),
        Authorization,
    )


# -- CAP-3 ----------------------------------------------------------------------------------------


@pytest.mark.rule("CAP-3")
async def test_the_call_beyond_capacity_is_refused_and_a_channel_frees_at_the_end() -> None:
    policy = _policy(_snapshot(users_a=2))  # CAP-1: 2 users -> 4 channels
    calls = [_attempt() for _ in range(4)]
    for attempt in calls:
        assert isinstance(await policy.authorize(attempt), Authorization)
    refused = await policy.authorize(_attempt())
    assert _rule(refused) == "CAP-3"
    assert refusal_status("CAP-3") == (486, "Capacity Exceeded")
    assert "4 channels" in refused.reason  # type: ignore[union-attr]
    policy.call_ended(_ended(calls[1], "CAP-3"))  # a refusal under the same Call-ID gives nothing back
    assert policy.channels.in_use("acc-a") == 4
    policy.call_ended(_ended(calls[0]))
    assert isinstance(await policy.authorize(_attempt()), Authorization)


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("CAP-2")
async def test_a_pack_limit_is_the_capacity_enforced() -> None:
    policy = _policy(_snapshot(users_a=2, limit=1))
    assert isinstance(await policy.authorize(_attempt()), Authorization)
    assert _rule(await policy.authorize(_attempt())) == "CAP-3"


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("EMG-4")
async def test_emergency_calls_are_accepted_at_full_capacity_and_count() -> None:
    policy = _policy(_snapshot(limit=1))
    assert isinstance(await policy.authorize(_attempt()), Authorization)
    emergency = _attempt(dialled="112", emergency=True)
    assert isinstance(await policy.authorize(emergency), Authorization)
    assert policy.channels.in_use("acc-a") == 2
    policy.call_ended(_ended(emergency))
    assert policy.channels.in_use("acc-a") == 1


@pytest.mark.rule("CAP-3")
async def test_a_call_holds_one_channel_of_each_account_involved() -> None:
    policy = _policy(_snapshot())  # acc-b: 1 billable user -> 2 channels
    to_b = UserDestination("ub0", "acc-b", ("db",))
    same = await policy.authorize(
        _attempt(Direction.INTERNAL, destination=UserDestination("ua1", "acc-a", ()))
    )
    assert isinstance(same, Authorization)
    assert policy.channels.in_use("acc-a") == 1  # internal call inside one account: one channel
    for _ in range(2):
        assert isinstance(
            await policy.authorize(_attempt(Direction.INTERNAL, destination=to_b)), Authorization
        )
    assert (policy.channels.in_use("acc-a"), policy.channels.in_use("acc-b")) == (3, 2)
    refused = await policy.authorize(_attempt(Direction.INBOUND, account="acc-b", destination=to_b))
    assert _rule(refused) == "CAP-3"
    refused = await policy.authorize(_attempt(Direction.INTERNAL, destination=to_b))
    assert "called account" in refused.reason  # type: ignore[union-attr]
    assert policy.channels.in_use("acc-a") == 3  # nothing taken by the refused call


@pytest.mark.rule("CAP-3")
async def test_an_account_with_no_billable_user_has_no_channel() -> None:
    policy = _policy(_snapshot(users_a=0))
    assert _rule(await policy.authorize(_attempt())) == "CAP-3"


@pytest.mark.rule("CAP-3")
async def test_reconciliation_gives_back_channels_of_calls_no_longer_in_progress() -> None:
    policy = _policy(_snapshot())
    kept, lost = _attempt(), _attempt()
    await policy.authorize(kept)
    await policy.authorize(lost)
    assert policy.reconcile([kept.call_id]) == 1
    assert policy.channels.in_use("acc-a") == 1


def test_the_counter_gives_back_each_authorisation_of_a_call_id_once() -> None:
    counter = ChannelCounter()
    counter.acquire("x", ("a", "b"))
    counter.acquire("x", ("a",))
    counter.release("x")
    assert (counter.in_use("a"), counter.in_use("b")) == (1, 0)
    counter.release("x")
    counter.release("x")
    counter.release("unknown")
    assert counter.in_use("a") == 0
    assert counter.held_calls() == set()


def test_the_snapshot_knows_customers_only_with_their_capacity_numbers_and_devices() -> None:
    snapshot = _snapshot(limit=7)
    assert set(snapshot.accounts) == {"acc-a", "acc-b"}
    a, b = snapshot.accounts["acc-a"], snapshot.accounts["acc-b"]
    assert (a.channels, a.capacity_rule, a.main_number) == (7, "CAP-2", "+3223000100")
    assert (b.channels, b.capacity_rule) == (2, "CAP-1")
    assert a.numbers == {"+3223000100", "+3223000101"}
    assert b.device_usernames == {"jan"}


@pytest.mark.rule("SIP-3")
@pytest.mark.rule("CAP-3")
async def test_a_pbx_only_account_has_the_channels_its_trunk_pays_for() -> None:
    parties = [Party("pbx", PartyKind.CUSTOMER, "PBX only", AT)]
    trunk = Trunk("trk", "pbx", "Office PBX", TrunkAuth.IP, AT, allowed_ips="192.0.2.10", channel_limit=2)
    numbers = [PhoneNumber("np", "pbx", "+3281000300", NumberScope.NATIONAL, AT, main=True)]
    snapshot = build_snapshot(parties, [], [], numbers, [], DAY, trunks=[trunk])
    assert snapshot.accounts["pbx"].channels == 2  # no user: CAP-1 gives 0, the trunk its 2
    policy = _policy(snapshot)

    def from_pbx() -> CallAttempt:
        attempt = _attempt(account="pbx", caller_id="+3281000300")
        return dataclasses.replace(attempt, device_id=None, customer_trunk_id="trk")

    for _ in range(2):
        assert isinstance(await policy.authorize(from_pbx()), Authorization)
    refused = await policy.authorize(from_pbx())
    assert _rule(refused) == "CAP-3"


# -- CFG-10: the click-to-call widget's channels ------------------------------------------------


@pytest.mark.rule("CFG-10")
async def test_widget_calls_beyond_the_web_channels_channels_are_refused_all_lines_busy() -> None:
    policy = _policy(_snapshot())
    bob = UserDestination("ua0", "acc-a", ("da",))

    def widget_call() -> CallAttempt:
        attempt = _attempt(Direction.INBOUND, dialled="+3223000101", destination=bob)
        return dataclasses.replace(attempt, trunk_id=None, web_channel=("web-1", 2))

    first, second, third = widget_call(), widget_call(), widget_call()
    assert isinstance(await policy.authorize(first), Authorization)
    assert isinstance(await policy.authorize(second), Authorization)
    refused = await policy.authorize(third)
    assert isinstance(refused, Refusal)
    assert refused.rule_id == "CFG-10"
    assert refused.reason.startswith("All lines busy")
    assert refusal_status("CFG-10") == (486, "All Lines Busy")
    other = dataclasses.replace(widget_call(), web_channel=("web-2", 1))  # another widget: its own lines
    assert isinstance(await policy.authorize(other), Authorization)
    policy.call_ended(_ended(third, "CFG-10"))  # the refusal held no line
    policy.call_ended(_ended(first))  # a call ends, however: its line is free
    assert isinstance(await policy.authorize(widget_call()), Authorization)
    assert policy.channels.in_use("web:web-1") == 2
