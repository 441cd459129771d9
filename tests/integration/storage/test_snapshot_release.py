"""A replaced snapshot is freed a batch at a time (``release``): its large lookups emptied when
nothing else holds them, left whole when something does (a snapshot handed out never changes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nuage.storage.sql.snapshots import RELEASE_ABOVE, release

N = RELEASE_ABOVE + 1


@dataclass(frozen=True)
class Inner:
    lookup: dict[int, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    lookup: dict[int, list[int]] = field(default_factory=dict)
    shared: dict[int, list[int]] = field(default_factory=dict)
    inner: Inner = field(default_factory=Inner)
    small: dict[int, int] = field(default_factory=dict)


def _big() -> dict[int, list[int]]:
    return {n: [n] for n in range(N)}


def test_the_lookups_only_the_replaced_snapshot_holds_are_emptied() -> None:
    shared = _big()
    assert release([Snapshot(_big(), shared, Inner(_big()), {1: 2})]) == 2 * N
    assert len(shared) == N  # the next snapshot holds it too: left whole


def test_a_lookup_or_snapshot_still_held_is_left_whole() -> None:
    inner = Inner(_big())
    assert release([Snapshot(_big(), {}, inner)]) == N
    assert len(inner.lookup) == N
    held = Snapshot(_big())
    assert release([held]) == 0
    assert len(held.lookup) == N
