from __future__ import annotations

import pytest

from nuage.documents.reference import (
    check_digits,
    format_reference,
    invoice_for_reference,
    normalise_reference,
    reference_for,
)
from nuage.errors import InvalidInput


@pytest.mark.rule("PAY-1")
@pytest.mark.parametrize(
    "reference",
    ["+++010/8068/17183+++", "***010/8068/17183***", "010/8068/17183", " +++ 010 / 8068 / 17183 +++ "],
)
def test_known_valid_structured_references_are_recognised(reference: str) -> None:
    assert normalise_reference(reference) == "010806817183"


@pytest.mark.rule("PAY-1")
def test_a_wrong_check_digit_is_not_a_reference() -> None:
    assert normalise_reference("+++010/8068/17180+++") is None
    assert normalise_reference("invoice 42") is None


@pytest.mark.rule("PAY-1")
def test_remainder_zero_gives_check_digits_97() -> None:
    assert check_digits("0000000097") == "97"
    assert format_reference("000000009797") == "+++000/0000/09797+++"


@pytest.mark.rule("PAY-1")
def test_invoice_reference_round_trips_and_is_mod_97() -> None:
    reference = reference_for("INV-2026-000042")
    digits = normalise_reference(reference)
    assert digits is not None
    assert int(digits[:10]) % 97 == int(digits[10:]) % 97  # 97 stands for a remainder of 0
    assert reference == "+++202/6000/04236+++"
    assert invoice_for_reference(reference) == "INV-2026-000042"


@pytest.mark.rule("PAY-1")
def test_credit_notes_have_no_payment_reference() -> None:
    with pytest.raises(InvalidInput):
        reference_for("CN-2026-000001")
