from __future__ import annotations

import pytest

from nuage.billing.numbering import allocate_numbers, next_number
from nuage.errors import InvalidInput


@pytest.mark.rule("BIL-4")
def test_numbers_are_sequential_without_gaps() -> None:
    assert next_number("INV", 2025, None) == "INV-2025-000001"
    assert next_number("INV", 2025, "INV-2025-000041") == "INV-2025-000042"
    assert allocate_numbers("CN", 2025, "CN-2025-000009", 3) == (
        "CN-2025-000010",
        "CN-2025-000011",
        "CN-2025-000012",
    )


@pytest.mark.rule("BIL-4")
def test_the_sequence_restarts_each_year_and_refuses_foreign_numbers() -> None:
    assert next_number("INV", 2026, "INV-2025-000311") == "INV-2026-000001"
    with pytest.raises(InvalidInput):
        next_number("INV", 2025, "CN-2025-000001")
    with pytest.raises(InvalidInput):
        next_number("INV", 2025, "INV-2026-000001")
    with pytest.raises(InvalidInput):
        next_number("INV", 2025, "garbage")
