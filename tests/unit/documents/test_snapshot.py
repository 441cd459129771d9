"""BIL-4: what an invoice shows, frozen at issue, comes back exactly, and renders the same UBL."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from nuage.documents.snapshot import decode, document_from, encode, frozen_document
from nuage.documents.ubl import build_ubl
from nuage.errors import Conflict

from .samples import BANK, all_documents

DOCUMENTS = all_documents()


@pytest.mark.rule("BIL-4")
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_frozen_document_comes_back_exactly_and_renders_the_same_ubl(name: str) -> None:
    doc = DOCUMENTS[name]
    text = encode(frozen_document(doc))
    frozen = decode(text)
    assert encode(frozen) == text  # canonical: same face, same text, same hash
    other_bank = replace(BANK, iban="BE71096123456769")
    thawed = document_from(doc.issued, frozen, bank=other_bank, payment_days=60, summaries=doc.summaries)
    assert thawed.bank == doc.bank  # frozen at issue: today's settings do not apply
    assert thawed.due_on == doc.due_on
    assert build_ubl(thawed) == build_ubl(doc)


@pytest.mark.rule("BIL-4")
def test_lines_whose_amounts_differ_from_those_frozen_are_refused() -> None:
    doc = DOCUMENTS["standard"]
    frozen = replace(frozen_document(doc), gross=doc.issued.totals.gross + Decimal("0.01"))
    with pytest.raises(Conflict, match="frozen at issue"):
        document_from(doc.issued, frozen, bank=BANK, payment_days=30)
