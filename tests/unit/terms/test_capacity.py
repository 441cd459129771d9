"""CAP-1 and CAP-2: channel capacity from billable users, both readings, pack override."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from nuage.directory.model import Role, TrafficPack, User
from nuage.tenancy.model import CapacityReading
from nuage.terms.capacity import account_capacity, billable_users, channel_capacity

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# CAP-1, literal reading: the band of the total applies to all users, rounded up.
LITERAL = {0: 0, 1: 2, 2: 4, 3: 3, 4: 4, 5: 5, 6: 3, 7: 4, 8: 4, 9: 5, 10: 5, 11: 3, 12: 3}
# Graduated reading: 2 users x2, 3 users x1, 5 users x1/2, then x1/4 (like tax brackets).
GRADUATED = {0: 0, 1: 2, 2: 4, 3: 5, 4: 6, 5: 7, 6: 8, 7: 8, 8: 9, 9: 9, 10: 10, 11: 10, 12: 10}


def _user(n: int, *, no_service: bool = False) -> User:
    role = Role.SUPERVISOR if no_service else Role.USER
    return User(f"u{n}", "acc", f"User {n}", T0, role=role, no_service=no_service)


def _pack(
    limit: int | None, valid_from: date = date(2026, 1, 1), valid_until: date | None = None
) -> TrafficPack:
    return TrafficPack(
        f"p{limit}",
        "acc",
        "pack",
        1,
        T0,
        valid_from,
        minutes=1000,
        channel_limit=limit,
        valid_until=valid_until,
    )


@pytest.mark.rule("CAP-1")
@pytest.mark.parametrize(("users", "channels"), sorted(LITERAL.items()))
def test_literal_reading_follows_the_table_of_the_terms(users: int, channels: int) -> None:
    assert channel_capacity(users, CapacityReading.LITERAL) == channels


@pytest.mark.rule("CAP-1")
def test_sixth_user_drops_capacity_from_five_to_three_channels_in_literal_reading() -> None:
    assert channel_capacity(5) == 5
    assert channel_capacity(6) == 3


@pytest.mark.rule("CAP-1")
@pytest.mark.parametrize(("users", "channels"), sorted(GRADUATED.items()))
def test_graduated_reading_applies_each_band_to_the_users_inside_it(users: int, channels: int) -> None:
    assert channel_capacity(users, CapacityReading.GRADUATED) == channels


@pytest.mark.rule("CAP-1")
def test_graduated_reading_never_falls_when_a_user_is_added() -> None:
    values = [channel_capacity(n, CapacityReading.GRADUATED) for n in range(0, 200)]
    assert values == sorted(values)


@pytest.mark.rule("CAP-1")
def test_fractional_channels_round_up_to_a_whole_channel() -> None:
    assert channel_capacity(7) == 4  # 7 x 0.5 = 3.5
    assert channel_capacity(13) == 4  # 13 x 0.25 = 3.25
    assert channel_capacity(13, CapacityReading.GRADUATED) == 11  # 9.5 + 3 x 0.25 = 10.25


@pytest.mark.rule("CAP-1")
@pytest.mark.rule("CFG-2")
def test_no_service_users_add_no_channels() -> None:
    users = [_user(1), _user(2), _user(3, no_service=True)]
    assert billable_users(users) == 2
    capacity = account_capacity(users, [], CapacityReading.LITERAL, date(2026, 3, 1))
    assert (capacity.channels, capacity.rule_id, capacity.billable_users) == (4, "CAP-1", 2)


@pytest.mark.rule("CAP-2")
def test_a_pack_that_fixes_a_channel_limit_overrides_the_formula() -> None:
    users = [_user(n) for n in range(12)]  # CAP-1 would give 3
    capacity = account_capacity(users, [_pack(30)], CapacityReading.LITERAL, date(2026, 3, 1))
    assert (capacity.channels, capacity.rule_id, capacity.pack_id) == (30, "CAP-2", "p30")


@pytest.mark.rule("CAP-2")
def test_the_largest_limit_applies_when_several_packs_fix_one() -> None:
    capacity = account_capacity(
        [_user(1)], [_pack(8), _pack(20), _pack(None)], CapacityReading.LITERAL, date(2026, 3, 1)
    )
    assert capacity.channels == 20


@pytest.mark.rule("CAP-2")
def test_a_pack_out_of_force_leaves_the_formula_in_place() -> None:
    expired = _pack(30, valid_until=date(2026, 2, 28))
    future = _pack(40, valid_from=date(2026, 4, 1))
    capacity = account_capacity(
        [_user(1), _user(2)], [expired, future], CapacityReading.LITERAL, date(2026, 3, 1)
    )
    assert (capacity.channels, capacity.rule_id) == (4, "CAP-1")


@pytest.mark.rule("CAP-2")
def test_a_pack_without_a_channel_limit_does_not_change_capacity() -> None:
    capacity = account_capacity([_user(1)], [_pack(None)], CapacityReading.GRADUATED, date(2026, 3, 1))
    assert (capacity.channels, capacity.rule_id) == (2, "CAP-1")
