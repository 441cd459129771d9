"""Which calls an account records, and how long recordings are kept (CFG-9): the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nuage.directory.recording import (
    CallParties,
    RecordingDirection,
    RecordingRule,
    RecordingScope,
    as_e164,
    check_retention_days,
    check_selection,
    expired,
    records_call,
)
from nuage.errors import InvalidInput

ALICE_CALLS_BOB = CallParties(
    made=True, received=True, caller_user_id="usr_alice", callee_user_ids=frozenset({"usr_bob"})
)
ALICE_CALLS_OUT = CallParties(
    made=True, received=False, caller_user_id="usr_alice", numbers_presented=frozenset({"+3222000001"})
)
CARRIER_CALLS_IN = CallParties(
    made=False,
    received=True,
    callee_user_ids=frozenset({"usr_bob"}),
    numbers_called=frozenset({"3222000002"}),
)


def rule(
    scope: RecordingScope, direction: RecordingDirection = RecordingDirection.BOTH, **chosen: frozenset[str]
) -> RecordingRule:
    return RecordingRule(active=True, scope=scope, direction=direction, **chosen)  # type: ignore[arg-type]


@pytest.mark.rule("CFG-9")
def test_nothing_is_recorded_while_recording_is_off() -> None:
    off = RecordingRule(active=False)
    assert not any(
        records_call(off, call) for call in (ALICE_CALLS_BOB, ALICE_CALLS_OUT, CARRIER_CALLS_IN, None)
    )


@pytest.mark.rule("CFG-9")
def test_all_calls_by_direction() -> None:
    everything = rule(RecordingScope.ALL)
    assert all(
        records_call(everything, call) for call in (ALICE_CALLS_BOB, ALICE_CALLS_OUT, CARRIER_CALLS_IN, None)
    )
    made = rule(RecordingScope.ALL, RecordingDirection.OUTBOUND)
    assert [records_call(made, c) for c in (ALICE_CALLS_BOB, ALICE_CALLS_OUT, CARRIER_CALLS_IN)] == [
        True,
        True,
        False,
    ]
    received = rule(RecordingScope.ALL, RecordingDirection.INBOUND)
    assert [records_call(received, c) for c in (ALICE_CALLS_BOB, ALICE_CALLS_OUT, CARRIER_CALLS_IN)] == [
        True,
        False,
        True,
    ]


@pytest.mark.rule("CFG-9")
def test_selected_users_are_recorded_in_the_chosen_direction_only() -> None:
    alice = frozenset({"usr_alice"})
    both = rule(RecordingScope.USERS, user_ids=alice)
    assert [records_call(both, c) for c in (ALICE_CALLS_BOB, ALICE_CALLS_OUT, CARRIER_CALLS_IN)] == [
        True,
        True,
        False,
    ]
    received = rule(RecordingScope.USERS, RecordingDirection.INBOUND, user_ids=alice)
    assert not records_call(received, ALICE_CALLS_BOB)  # alice made it; she receives none of these
    bob_receives = rule(RecordingScope.USERS, RecordingDirection.INBOUND, user_ids=frozenset({"usr_bob"}))
    assert [records_call(bob_receives, c) for c in (ALICE_CALLS_BOB, ALICE_CALLS_OUT, CARRIER_CALLS_IN)] == [
        True,
        False,
        True,
    ]
    assert not records_call(both, None)  # a conference's mix belongs to no selected user


@pytest.mark.rule("CFG-9")
def test_selected_numbers_match_whatever_the_dialled_form() -> None:
    inbound = rule(RecordingScope.NUMBERS, RecordingDirection.INBOUND, numbers=frozenset({"+3222000002"}))
    assert records_call(inbound, CARRIER_CALLS_IN)
    international = CallParties(made=False, received=True, numbers_called=frozenset({"0032 22 000 002"}))
    assert records_call(inbound, international)
    assert not records_call(inbound, ALICE_CALLS_OUT)
    outbound = rule(RecordingScope.NUMBERS, RecordingDirection.OUTBOUND, numbers=frozenset({"+3222000001"}))
    assert records_call(outbound, ALICE_CALLS_OUT)
    assert not records_call(outbound, CARRIER_CALLS_IN)
    assert not records_call(outbound, ALICE_CALLS_BOB)  # an internal call presents no number


@pytest.mark.rule("CFG-9")
@pytest.mark.parametrize(
    "carried",
    ["+3222000002", "+32 2 200 00 02", "003222000002", "0032 (0)2 200 00 02", "022000002", "02/200.00.02",
     "3222000002"],
)  # fmt: skip
def test_a_selected_number_is_matched_in_e164_international_and_national_forms(carried: str) -> None:
    """E.164 with +, the 00 international prefix, the Belgian national 0xx and the bare international
    digits a carrier may send are one number, read through the platform's one normaliser."""
    selected = rule(RecordingScope.NUMBERS, numbers=frozenset({"+3222000002"}))
    assert as_e164([carried]) == {"+3222000002"}
    called = CallParties(made=False, received=True, numbers_called=frozenset({carried}))
    presented = CallParties(made=True, received=False, numbers_presented=frozenset({carried}))
    assert records_call(selected, called)
    assert records_call(selected, presented)


@pytest.mark.rule("CFG-9")
def test_other_numbers_extensions_and_usernames_never_match_a_selected_number() -> None:
    selected = rule(RecordingScope.NUMBERS, numbers=frozenset({"+3222000002"}))
    for carried in ("022000003", "+3322000002", "212", "alice", "", "0"):
        assert not records_call(
            selected, CallParties(made=False, received=True, numbers_called=frozenset({carried}))
        )
    assert as_e164(["212", "alice", "022000003"]) == {"+3222000003"}


@pytest.mark.rule("CFG-9")
def test_a_national_number_is_read_in_the_operators_home_region() -> None:
    paris = frozenset({"+33123456789"})
    french = RecordingRule(active=True, scope=RecordingScope.NUMBERS, numbers=paris, region="FR")
    belgian = RecordingRule(active=True, scope=RecordingScope.NUMBERS, numbers=paris)
    call = CallParties(made=False, received=True, numbers_called=frozenset({"01 23 45 67 89"}))
    assert records_call(french, call)
    assert not records_call(belgian, call)  # 01... in Belgium is no Paris number
    assert records_call(
        belgian, CallParties(made=False, received=True, numbers_called=frozenset({"0033123456789"}))
    )


@pytest.mark.rule("CFG-9")
def test_retention_and_selection_are_bounded() -> None:
    for days in (0, -1, 3651):
        with pytest.raises(InvalidInput, match="1 to 3650 days"):
            check_retention_days(days)
    check_retention_days(None)
    check_retention_days(30)
    with pytest.raises(InvalidInput, match="at least one user"):
        check_selection(RecordingScope.USERS, (), ("num_1",))
    with pytest.raises(InvalidInput, match="at most 500"):
        check_selection(RecordingScope.ALL, tuple(f"usr_{i}" for i in range(501)), ())
    made = datetime(2026, 3, 1, tzinfo=UTC)
    assert not expired(made, made + timedelta(days=30), 30)
    assert expired(made, made + timedelta(days=30, seconds=1), 30)
    assert not expired(made, made + timedelta(days=9999), None)
