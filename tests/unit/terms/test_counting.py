from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.errors import Conflict, InvalidInput
from nuage.shared.month import Month
from nuage.terms.counting import (
    GENESIS_HASH,
    CountRecord,
    ItemKind,
    MonthlySummary,
    billed_users,
    freeze_monthly_summary,
    month_end_counts,
    quarter_base_month,
    verify_chain,
)

USERS = ItemKind.BILLABLE_USERS


def chain(*user_counts: int) -> list[MonthlySummary]:
    summaries: list[MonthlySummary] = []
    month = Month(2025, 1)
    for count in user_counts:
        frozen_at = datetime(month.year, month.month, month.days, 22, 0, tzinfo=UTC)
        previous = summaries[-1] if summaries else None
        summaries.append(freeze_monthly_summary("acc-1", month, {USERS: Decimal(count)}, frozen_at, previous))
        month = month.next()
    return summaries


@pytest.mark.rule("CNT-1")
def test_summaries_are_chained_by_sha256() -> None:
    first, second, third = chain(10, 12, 12)
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.hash
    assert third.previous_hash == second.hash
    assert len(first.hash) == 64
    assert second.quantity(USERS) == Decimal(12)
    assert second.quantity(ItemKind.VIRTUAL_FAXES) == Decimal(0)
    assert verify_chain([first, second, third]) is None


@pytest.mark.rule("CNT-1")
def test_canonical_form_is_stable_and_independent_of_insertion_order() -> None:
    at = datetime(2025, 1, 31, 22, tzinfo=UTC)
    one = freeze_monthly_summary(
        "a", Month(2025, 1), {USERS: Decimal("3"), ItemKind.RECORDING_GB: Decimal("1.50")}, at, None
    )
    two = freeze_monthly_summary(
        "a", Month(2025, 1), {ItemKind.RECORDING_GB: Decimal("1.5"), USERS: Decimal(3)}, at, None
    )
    assert one.hash == two.hash
    assert one.canonical_bytes() == (
        b'{"account_id":"a","format":"cnt1-v1","frozen_at":"2025-01-31T22:00:00+00:00",'
        b'"items":{"billable_users":"3","recording_gb":"1.5"},"month":"2025-01"}'
    )


@pytest.mark.rule("CNT-1")
def test_verify_finds_the_first_tampered_summary() -> None:
    summaries = chain(10, 12, 12, 11)
    tampered = dataclasses.replace(summaries[1], items=((USERS, Decimal(2)),))
    broken = verify_chain([summaries[0], tampered, *summaries[2:]])
    assert broken is not None
    assert (broken.index, broken.month, broken.reason) == (
        1,
        Month(2025, 2),
        "content does not match its hash",
    )


@pytest.mark.rule("CNT-1")
def test_verify_finds_a_rehashed_summary_by_its_successors_link() -> None:
    summaries = chain(10, 12, 12)
    forged = freeze_monthly_summary(
        "acc-1", Month(2025, 2), {USERS: Decimal(2)}, summaries[1].frozen_at, summaries[0]
    )
    broken = verify_chain([summaries[0], forged, summaries[2]])
    assert broken is not None
    assert (broken.index, broken.reason) == (2, "previous_hash does not match the previous summary")


@pytest.mark.rule("CNT-1")
def test_verify_finds_a_missing_month() -> None:
    summaries = chain(10, 12, 12)
    broken = verify_chain([summaries[0], summaries[2]])
    assert broken is not None
    assert (broken.index, broken.reason) == (1, "a month is missing or out of order")


@pytest.mark.rule("CNT-1")
def test_freezing_refuses_a_wrong_predecessor_or_quantity() -> None:
    (first,) = chain(10)
    at = datetime(2025, 3, 31, tzinfo=UTC)
    with pytest.raises(Conflict):
        freeze_monthly_summary("acc-1", Month(2025, 3), {}, at, first)
    with pytest.raises(Conflict):
        freeze_monthly_summary("acc-2", Month(2025, 2), {}, at, first)
    with pytest.raises(InvalidInput):
        freeze_monthly_summary("acc-1", Month(2025, 2), {USERS: Decimal(-1)}, at, first)


@pytest.mark.rule("CNT-2")
def test_increases_apply_at_the_month_end_count() -> None:
    records = [
        CountRecord("a", datetime(2025, 1, 5, tzinfo=UTC), USERS, Decimal(10)),
        CountRecord("a", datetime(2025, 1, 31, 20, tzinfo=UTC), USERS, Decimal(14)),
        CountRecord("a", datetime(2025, 1, 20, tzinfo=UTC), USERS, Decimal(20)),
        # 23:30 UTC on 31 January is 1 February in Brussels: next month's count.
        CountRecord("a", datetime(2025, 1, 31, 23, 30, tzinfo=UTC), USERS, Decimal(30)),
        CountRecord("a", datetime(2025, 1, 31, tzinfo=UTC), ItemKind.VIRTUAL_FAXES, Decimal(1)),
    ]
    assert month_end_counts(records, Month(2025, 1)) == {
        USERS: Decimal(14),
        ItemKind.VIRTUAL_FAXES: Decimal(1),
    }


@pytest.mark.rule("CNT-3")
def test_billed_users_fall_by_at_most_ten_percent_per_quarter() -> None:
    assert billed_users(5, 20).billed == 18
    assert billed_users(5, 20).floor_applied
    assert billed_users(19, 20).billed == 19
    assert billed_users(25, 20).billed == 25  # increases apply in full (CNT-2)
    assert billed_users(0, 11).billed == 10  # ceil(9.9)
    assert billed_users(3, None).billed == 3
    assert not billed_users(3, None).floor_applied
    with pytest.raises(InvalidInput):
        billed_users(-1, 3)


@pytest.mark.rule("CNT-3")
def test_the_quarter_base_is_the_month_before_the_quarter() -> None:
    assert quarter_base_month(Month(2025, 5)) == Month(2025, 3)
    assert quarter_base_month(Month(2025, 4)) == Month(2025, 3)
    assert quarter_base_month(Month(2025, 1)) == Month(2024, 12)
    assert quarter_base_month(Month(2025, 12)) == Month(2025, 9)
