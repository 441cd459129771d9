from __future__ import annotations

import pytest

from nuage.billing.plans import OneTimeKind
from nuage.documents.messages import LANGUAGES, MESSAGES, line_text, message
from nuage.errors import InvalidInput
from nuage.terms.counting import ItemKind

# Every description_key the billing domain emits (billing.runs, billing.one_time, services.billing) and this
# package's own.
EMITTED_KEYS = (
    [f"line.recurring.{kind.value}" for kind in ItemKind]
    + [f"line.early_termination.{kind.value}" for kind in ItemKind]
    + [f"line.one_time.{kind.value}" for kind in OneTimeKind]
    + [f"line.catch_up.{kind.value}" for kind in ItemKind]
    + [
        "line.regularisation.billable_users",
        "line.recurring.flat_fee",
        "line.recurring.international_number_minimum_term",
        "line.traffic.out_of_pack",
        "line.one_time.hardware.yealink_t54w",
        "line.payment.late_interest",
        "line.payment.reminder_fee",
        "line.payment.collection_costs",
    ]
)


@pytest.mark.rule("BIL-10")
@pytest.mark.parametrize("key", EMITTED_KEYS)
def test_every_line_key_the_billing_domain_emits_reads_in_english_french_and_dutch(key: str) -> None:
    texts = {language: line_text(key, language, {"invoice": "INV-2026-000001"}) for language in LANGUAGES}
    assert all(text and not text.startswith("line.") for text in texts.values())
    assert len(set(texts.values())) >= 2 or key.endswith(("activation", "installation", "yealink_t54w"))


@pytest.mark.rule("BIL-4")
def test_every_message_exists_in_the_three_languages() -> None:
    for key, texts in MESSAGES.items():
        assert set(texts) == set(LANGUAGES), key


@pytest.mark.rule("BIL-10")
def test_an_unknown_line_key_is_refused_rather_than_printed_raw() -> None:
    with pytest.raises(InvalidInput, match="line.mystery"):
        line_text("line.mystery", "fr")
    with pytest.raises(InvalidInput, match="language"):
        message("doc.invoice", "de")


@pytest.mark.rule("PAY-2")
def test_interest_line_names_its_invoice_and_months() -> None:
    params = {"invoice": "INV-2026-000007", "months": "2 mois"}
    assert line_text("line.payment.late_interest", "fr", params) == (
        "Intérêts de retard sur la facture INV-2026-000007 (1 % par mois, 2 mois)"
    )
