"""What an issued invoice shows, frozen at issue (BIL-4): parties, language, brand, bank, amounts.

An issued invoice is a legal document: renaming its buyer, moving the operator or changing a
partner's brand afterwards must not change it. At issue, ``frozen_document`` keeps what
``documents.model.document_input`` assembled from the day's data (the seller's and buyer's
identity, addresses, VAT and enterprise numbers, the language, the brand, the bank account, the
due date, the names of the customers its lines are for) together with its totals;
``encode``/``decode`` turn it into text and back (canonical JSON, kept with its SHA-256).
The documents are rendered from it (``document_from``), never from the parties as they are now;
the rendered PDF and UBL are then stored once and served as stored.

Invoices issued before snapshots existed were frozen when the storage was migrated, from the
data of that day, without a bank account or due date: those two are taken from the payment
settings when such an invoice's documents are first rendered, and stored with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from nuage.billing.invoices import IssuedInvoice, Totals
from nuage.documents.model import (
    BankAccount,
    Brand,
    DocumentInput,
    PartyInfo,
    brand_for,
    due_date,
)
from nuage.errors import Conflict
from nuage.tenancy.model import Party
from nuage.terms.counting import MonthlySummary

SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class FrozenDocument:
    """BIL-4: everything an issued invoice's documents show but its lines, as it was at issue."""

    seller: PartyInfo
    buyer: PartyInfo
    language: str
    brand: Brand
    net: Decimal
    vat: Decimal
    gross: Decimal
    customer_names: Mapping[str, str] = field(default_factory=dict)
    bank: BankAccount | None = None  # None: frozen by the migration, taken when first rendered
    due_on: date | None = None  # None: likewise


def frozen_document(doc: DocumentInput) -> FrozenDocument:
    """BIL-4: the frozen face of a document assembled at issue."""
    totals = doc.issued.totals
    return FrozenDocument(
        seller=doc.seller,
        buyer=doc.buyer,
        language=doc.language,
        brand=doc.brand,
        net=totals.net,
        vat=totals.vat,
        gross=totals.gross,
        customer_names=dict(doc.customer_names),
        bank=doc.bank,
        due_on=doc.due_on,
    )


def frozen_parties(
    totals: Totals,
    *,
    operator: Party,
    buyer: Party,
    partner: Party | None,
    customer_names: Mapping[str, str],
) -> FrozenDocument:
    """BIL-4: the frozen face of an invoice issued before snapshots, from the parties of today."""
    return FrozenDocument(
        seller=PartyInfo.of(operator),
        buyer=PartyInfo.of(buyer),
        language=buyer.language.value,
        brand=brand_for(buyer, operator, partner),
        net=totals.net,
        vat=totals.vat,
        gross=totals.gross,
        customer_names={buyer.id: buyer.name, **customer_names},
    )


def document_from(
    issued: IssuedInvoice,
    frozen: FrozenDocument,
    *,
    bank: BankAccount,
    payment_days: int,
    summaries: tuple[MonthlySummary, ...] = (),
) -> DocumentInput:
    """BIL-4: the document to render: the issued lines with their frozen face.

    ``bank`` and ``payment_days`` (today's settings) serve only a face frozen without them.
    The amounts of the stored lines must be those frozen at issue; any difference is refused.
    """
    totals = issued.totals
    if (totals.net, totals.vat, totals.gross) != (frozen.net, frozen.vat, frozen.gross):
        raise Conflict(
            f"BIL-4: the amounts of {issued.number} differ from those frozen at issue",
            number=issued.number,
        )
    return DocumentInput(
        issued=issued,
        seller=frozen.seller,
        buyer=frozen.buyer,
        language=frozen.language,
        brand=frozen.brand,
        bank=frozen.bank or bank,
        due_on=frozen.due_on or due_date(issued.draft.issue_on, payment_days),
        customer_names=frozen.customer_names,
        summaries=summaries,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def encode(frozen: FrozenDocument) -> str:
    """BIL-4: the canonical text of a frozen face (same face, same text, same hash)."""
    data = {"version": SNAPSHOT_VERSION, **_plain(asdict(frozen))}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode(text: str) -> FrozenDocument:
    """BIL-4: a frozen face from its text."""
    data = json.loads(text)
    if data.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"unknown invoice snapshot version {data.get('version')!r}")
    bank = data["bank"]
    return FrozenDocument(
        seller=PartyInfo(**data["seller"]),
        buyer=PartyInfo(**data["buyer"]),
        language=data["language"],
        brand=Brand(**data["brand"]),
        net=Decimal(data["net"]),
        vat=Decimal(data["vat"]),
        gross=Decimal(data["gross"]),
        customer_names=dict(data["customer_names"]),
        bank=None if bank is None else BankAccount(**bank),
        due_on=None if data["due_on"] is None else date.fromisoformat(data["due_on"]),
    )
