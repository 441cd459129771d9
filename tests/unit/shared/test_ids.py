"""Identifiers: random ids, and time-ordered ids for rows written in bulk (CDRs)."""

from __future__ import annotations

import re

from nuage.shared.ids import new_id, new_ordered_id


def test_random_ids_are_prefixed_and_distinct() -> None:
    ids = {new_id("usr") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"usr_[0-9a-f]{16}", value) for value in ids)


def test_ordered_ids_sort_in_creation_order_and_fit_the_id_columns() -> None:
    made = [new_ordered_id("cdr") for _ in range(2000)]
    assert len(set(made)) == len(made)
    stamps = [value[4:17] for value in made]  # the microsecond part
    assert stamps == sorted(stamps)
    assert all(re.fullmatch(r"cdr_[0-9a-f]{21}", value) and len(value) <= 40 for value in made)
