"""invoice snapshots: what each issued invoice shows, frozen at issue (BIL-4)

``invoice_snapshots`` keeps, per issued invoice or credit note, the canonical JSON of what its
documents show (``nuage.documents.snapshot``: seller and buyer identity, addresses, VAT numbers,
language, brand, bank, due date, totals) and its SHA-256. The PDF and UBL are rendered from it
once, stored, and served as stored.

Invoices issued before this revision are frozen here, from the parties as they are on the day
of the migration (without bank account or due date: those come from the payment settings when
their documents are first rendered, then are stored with them).

Revision ID: 0014
Revises: 0017
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import nuage.storage.sql.types
from nuage.billing.invoices import Totals
from nuage.documents.snapshot import encode, frozen_parties
from nuage.shared.money import from_minor
from nuage.tenancy.model import CapacityReading, Language, Party, PartyKind, PartyStatus

revision: str = "0014"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENUMS = {"kind": PartyKind, "status": PartyStatus, "language": Language, "capacity_reading": CapacityReading}


def _party(row: Mapping[Any, Any]) -> Party:
    values = {f.name: row[f.name] for f in dataclasses.fields(Party) if f.name in row}
    for name, enum in _ENUMS.items():
        values[name] = enum(values[name])
    return Party(**values)


def upgrade() -> None:
    op.create_table(
        "invoice_snapshots",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("frozen_at", nuage.storage.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["number"], ["invoices.number"], name=op.f("fk_invoice_snapshots_number_invoices")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_invoice_snapshots")),
    )
    bind = op.get_bind()
    invoices = bind.execute(
        sa.text("SELECT id, number, invoiced_party_id, net_minor, vat_minor, gross_minor FROM invoices")
    ).mappings().all()
    if not invoices:
        return
    parties = {
        row["id"]: _party(row) for row in bind.execute(sa.text("SELECT * FROM parties")).mappings()
    }
    operator = next(party for party in parties.values() if party.kind is PartyKind.OPERATOR)
    customers: dict[str, list[str]] = {}
    for invoice_id, customer_id in bind.execute(
        sa.text("SELECT invoice_id, customer_id FROM invoice_lines ORDER BY invoice_id, position")
    ):
        seen = customers.setdefault(invoice_id, [])
        if customer_id not in seen:
            seen.append(customer_id)
    snapshots = sa.table(
        "invoice_snapshots",
        sa.column("number", sa.String),
        sa.column("content", sa.Text),
        sa.column("sha256", sa.String),
        sa.column("frozen_at", nuage.storage.sql.types.UtcDateTime()),
    )
    now = datetime.now(UTC)
    rows = []
    for invoice in invoices:
        buyer = parties[invoice["invoiced_party_id"]]
        partner = parties.get(buyer.partner_id) if buyer.partner_id else None
        names = {
            customer_id: parties[customer_id].name
            for customer_id in customers.get(invoice["id"], [])
            if customer_id in parties
        }
        totals = Totals(
            from_minor(invoice["net_minor"]), from_minor(invoice["vat_minor"]), from_minor(invoice["gross_minor"]), ()
        )
        content = encode(
            frozen_parties(totals, operator=operator, buyer=buyer, partner=partner, customer_names=names)
        )
        rows.append(
            {
                "number": invoice["number"],
                "content": content,
                "sha256": hashlib.sha256(content.encode()).hexdigest(),
                "frozen_at": now,
            }
        )
    op.bulk_insert(snapshots, rows)


def downgrade() -> None:
    op.drop_table("invoice_snapshots")
