"""The day each account's terms may change (``PolicySnapshot.review_on``): a CAP-2 pack starting or
ending, or the plan's CAP-1 reading changing; the accounts due on a day are the ones it gives."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from nuage.directory.model import TrafficPack
from nuage.policy.snapshot import build_snapshot, pack_review
from nuage.tenancy.model import Party, PartyKind

ON = date(2026, 3, 10)
AT = datetime(2026, 3, 1, tzinfo=UTC)


def _pack(valid_from: date, until: date | None = None, limit: int | None = 4) -> TrafficPack:
    return TrafficPack("pack", "cus_1", "Pack", 1, AT, valid_from, channel_limit=limit, valid_until=until)


@pytest.mark.rule("CAP-2")
def test_a_pack_fixing_channels_is_reviewed_the_day_it_starts_or_the_day_after_it_ends() -> None:
    assert pack_review([_pack(date(2026, 3, 12))], ON) == date(2026, 3, 12)
    assert pack_review([_pack(date(2026, 3, 1), date(2026, 3, 10))], ON) == date(2026, 3, 11)
    assert pack_review([_pack(date(2026, 3, 1), date(2026, 3, 9))], ON) is None  # over already
    assert pack_review([_pack(date(2026, 3, 1))], ON) is None  # in force for good
    assert pack_review([_pack(date(2026, 3, 12), limit=None)], ON) is None  # minutes only: no CAP-2


def test_the_accounts_due_on_a_day_are_those_reviewed_by_then() -> None:
    parties = [Party(id=f"cus_{n}", kind=PartyKind.CUSTOMER, name=f"C{n}", created_at=AT) for n in (1, 2, 3)]
    packs = [_pack(date(2026, 3, 1), date(2026, 3, 10))]
    snapshot = build_snapshot(parties, [], packs, [], [], ON, readings_until={"cus_2": date(2026, 4, 1)})
    assert snapshot.review_on == {"cus_1": date(2026, 3, 11), "cus_2": date(2026, 4, 1)}
    assert snapshot.due_on(ON) == frozenset()
    assert snapshot.due_on(date(2026, 3, 11)) == {"cus_1"}
    assert snapshot.due_on(date(2026, 4, 2)) == {"cus_1", "cus_2"}
