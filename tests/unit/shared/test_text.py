"""Names without control characters: NUL, DEL, C0 and C1 controls and line separators are refused."""

from __future__ import annotations

import pytest

from nuage.directory.rules import clean_email
from nuage.errors import InvalidInput
from nuage.shared.text import clean_name


@pytest.mark.parametrize(
    "bad", ["Dupont\x00", "Du\x7fpont", "Du\x1bpont", "Du\x85pont", "Du\u2028pont", "Du\tpont"]
)
def test_a_name_with_a_control_character_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_name(bad, "label")
    assert refused.value.field == "label"
    assert "control character" in refused.value.message


def test_a_name_is_trimmed_and_bounded_and_may_be_any_language() -> None:
    assert clean_name("  Zoë Ünal — Ŝtudio 東京  ") == "Zoë Ünal — Ŝtudio 東京"
    with pytest.raises(InvalidInput):
        clean_name("   ")
    with pytest.raises(InvalidInput):
        clean_name("x" * 201)


def test_an_email_with_a_control_character_is_refused() -> None:
    assert clean_email("Eve@Dupont.example") == "eve@dupont.example"
    with pytest.raises(InvalidInput):
        clean_email("eve\x7f@dupont.example")
