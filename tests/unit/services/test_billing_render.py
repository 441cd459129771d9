"""The text invoice reads the one catalogue of invoice-line labels (documents.messages)."""

from __future__ import annotations

import pytest

from nuage.documents.messages import item_text, line_text
from nuage.services.billing.render import label
from nuage.terms.counting import ItemKind


@pytest.mark.rule("BIL-10")
@pytest.mark.parametrize("kind", list(ItemKind))
def test_a_recurring_line_reads_as_the_pdf_names_its_item(kind: ItemKind) -> None:
    assert label(f"line.recurring.{kind.value}") == item_text(kind.value, "en")


@pytest.mark.rule("BIL-10")
def test_a_line_with_parameters_reads_as_in_the_pdf_and_an_unknown_key_as_itself() -> None:
    params = {"invoice": "INV-2026-000001", "months": "2 month(s)"}
    assert label("line.payment.late_interest", params) == line_text(
        "line.payment.late_interest", "en", params
    )
    assert "INV-2026-000001" in label("line.payment.late_interest", params)
    assert label("line.early_termination.billable_users") == "Early termination balance: Users"
    assert label("no.such.key") == "no.such.key"
