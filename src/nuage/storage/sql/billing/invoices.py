"""Invoices in storage (BIL-1..4, BIL-9, BIL-10, CNT-3, CTR-3): run keys, gapless numbers under a row
lock, issued documents and their lines (never updated), the invoice list and the reads of earlier
invoices a run needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)

from nuage.billing.invoices import DocumentType, InvoiceDraft, IssuedInvoice
from nuage.billing.vat import VatRegime, VatTreatment
from nuage.services.billing.ports import (
    InvoiceHeader,
    StoredInvoice,
)
from nuage.shared.ids import new_id
from nuage.shared.money import from_minor, to_minor
from nuage.shared.month import Month
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.base import SqlBillingBase
from nuage.storage.sql.billing.codecs import (
    chunks,
    line_from_row,
    line_row,
    month_of,
)
from nuage.terms.counting import ItemKind

_RECURRING_RULES = ("BIL-2", "BIL-11", "CNT-3")


class InvoiceStorage(SqlBillingBase):
    """BIL-1..4/BIL-9: issued documents, their numbers and run keys."""

    def existing_run_keys(self, keys: Iterable[str]) -> set[str]:
        b = bt.billing_runs
        found: set[str] = set()
        for chunk in chunks(sorted(set(keys))):
            found.update(
                self._connection.execute(select(b.c.run_key).where(b.c.run_key.in_(chunk))).scalars()
            )
        return found

    def locked_last_number(self, series: str, year: int) -> str | None:
        """BIL-4: the counter row, created when missing, locked until commit (``FOR UPDATE``)."""
        n = bt.invoice_counters
        self._connection.execute(self._insert_ignore(n).values(series=series, year=year, last_number=None))
        last: str | None = self._connection.execute(
            select(n.c.last_number).where(n.c.series == series, n.c.year == year).with_for_update()
        ).scalar_one()
        return last

    def set_last_number(self, series: str, year: int, number: str) -> None:
        n = bt.invoice_counters
        self._connection.execute(
            update(n).where(n.c.series == series, n.c.year == year).values(last_number=number)
        )

    def add_invoice(self, issued: IssuedInvoice, kind: str) -> str:
        (invoice_id,) = self.add_invoices([issued], kind)
        return invoice_id

    def add_invoices(self, documents: Sequence[IssuedInvoice], kind: str) -> list[str]:
        """BIL-4/BIL-9: store issued documents, their lines and run keys: one executemany per table."""
        ids = [new_id("inv") for _ in documents]
        if not documents:
            return ids
        invoice_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        run_rows: list[dict[str, Any]] = []
        for invoice_id, issued in zip(ids, documents, strict=True):
            draft = issued.draft
            totals = draft.totals
            period = None if draft.period is None else str(draft.period)
            invoice_rows.append(
                {
                    "id": invoice_id, "number": issued.number, "run_key": draft.run_key,
                    "document_type": draft.document_type.value, "invoiced_party_id": draft.invoiced_party_id,
                    "issue_on": draft.issue_on, "issued_at": issued.issued_at, "period": period,
                    "currency": draft.currency, "vat_regime": draft.vat.regime.value,
                    "vat_rate": draft.vat.rate,
                    "vat_mention_key": draft.vat.mention_key, "net_minor": to_minor(totals.net),
                    "net_precise": totals.net, "vat_minor": to_minor(totals.vat), "vat_precise": totals.vat,
                    "gross_minor": to_minor(totals.gross), "gross_precise": totals.gross,
                    "replaces": draft.replaces, "credits": draft.credits,
                }
            )  # fmt: skip
            line_rows.extend(
                line_row(invoice_id, position, line) for position, line in enumerate(draft.lines, start=1)
            )
            run_rows.append(
                {
                    "run_key": draft.run_key, "kind": kind, "period": period,
                    "invoiced_party_id": draft.invoiced_party_id, "invoice_id": invoice_id,
                    "created_at": issued.issued_at,
                }
            )  # fmt: skip
        self._connection.execute(insert(bt.invoices), invoice_rows)
        if line_rows:
            self._connection.execute(insert(bt.invoice_lines), line_rows)
        self._connection.execute(insert(bt.billing_runs), run_rows)
        return ids

    def _stored(self, row: Row[Any]) -> StoredInvoice:
        m = row._mapping
        lines = self._connection.execute(
            select(bt.invoice_lines)
            .where(bt.invoice_lines.c.invoice_id == m["id"])
            .order_by(bt.invoice_lines.c.position)
        ).all()
        draft = InvoiceDraft(
            run_key=m["run_key"],
            document_type=DocumentType(m["document_type"]),
            invoiced_party_id=m["invoiced_party_id"],
            issue_on=m["issue_on"],
            period=month_of(m["period"]),
            lines=tuple(line_from_row(line) for line in lines),
            vat=VatTreatment(VatRegime(m["vat_regime"]), m["vat_rate"], m["vat_mention_key"]),
            replaces=m["replaces"],
            credits=m["credits"],
            currency=m["currency"],
        )
        i = bt.invoices
        credited_by = self._connection.execute(select(i.c.number).where(i.c.credits == m["number"])).scalar()
        replaced_by = self._connection.execute(select(i.c.number).where(i.c.replaces == m["number"])).scalar()
        return StoredInvoice(
            m["id"], IssuedInvoice(m["number"], draft, m["issued_at"]), credited_by, replaced_by
        )

    def find_invoice(self, number: str) -> StoredInvoice | None:
        i = bt.invoices
        row = self._connection.execute(select(i).where(i.c.number == number)).first()
        return None if row is None else self._stored(row)

    def last_issue_on(self) -> date | None:
        last: date | None = self._connection.execute(select(func.max(bt.invoices.c.issue_on))).scalar()
        return last

    def list_invoices(
        self,
        *,
        party_ids: Sequence[str] | None,
        period: str | None,
        customer_id: str | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[InvoiceHeader], int]:
        i, lines = bt.invoices, bt.invoice_lines
        credit = bt.invoices.alias("credit")
        conditions: list[ColumnElement[bool]] = []
        if party_ids is not None:
            conditions.append(i.c.invoiced_party_id.in_(list(party_ids)))
        if period is not None:
            conditions.append(i.c.period == period)
        if customer_id is not None:
            conditions.append(
                or_(
                    i.c.invoiced_party_id == customer_id,
                    exists().where(lines.c.invoice_id == i.c.id, lines.c.customer_id == customer_id),
                )
            )
        total = self._connection.execute(select(func.count()).select_from(i).where(*conditions)).scalar_one()
        line_count = select(func.count()).where(lines.c.invoice_id == i.c.id).correlate(i).scalar_subquery()
        rows = self._connection.execute(
            select(i, line_count.label("line_count"), credit.c.number.label("credited_by"))
            .outerjoin(credit, credit.c.credits == i.c.number)
            .where(*conditions)
            .order_by(i.c.issued_at, i.c.number)
            .limit(limit)
            .offset(offset)
        ).all()
        headers = [
            InvoiceHeader(
                number=row.number,
                document_type=DocumentType(row.document_type),
                invoiced_party_id=row.invoiced_party_id,
                issue_on=row.issue_on,
                period=row.period,
                currency=row.currency,
                # totals are whole cents: the stored cents give them in one form on both databases
                # (PostgreSQL's NUMERIC(18, 4) gives 102.0300 for 102.03)
                net=from_minor(row.net_minor),
                vat=from_minor(row.vat_minor),
                gross=from_minor(row.gross_minor),
                line_count=int(row.line_count),
                replaces=row.replaces,
                credits=row.credits,
                credited_by=row.credited_by,
            )
            for row in rows
        ]
        return headers, int(total)

    def _not_voided(self) -> Any:
        i = bt.invoices
        credit = bt.invoices.alias("voiding")
        return and_(
            i.c.document_type == DocumentType.INVOICE.value,
            not_(exists().where(credit.c.credits == i.c.number)),
        )

    def billed_users(self, customer_ids: Sequence[str], month: Month) -> dict[str, int]:
        """CNT-3: sum of the user lines (flat fees aside) for ``month`` on invoices not voided."""
        i, lines = bt.invoices, bt.invoice_lines
        found: dict[str, Decimal] = {}
        for chunk in chunks(list(customer_ids)):
            rows = self._connection.execute(
                select(lines.c.customer_id, lines.c.quantity)
                .join(i, i.c.id == lines.c.invoice_id)
                .where(
                    self._not_voided(),
                    lines.c.customer_id.in_(chunk),
                    lines.c.period == str(month),
                    lines.c.item_kind == ItemKind.BILLABLE_USERS.value,
                    lines.c.rule_id.in_(("BIL-2", "CNT-3", "CNT-2")),
                    lines.c.description_key != "line.recurring.flat_fee",
                )
            )
            for customer_id, quantity in rows:
                found[customer_id] = found.get(customer_id, Decimal(0)) + quantity
        return {customer_id: int(quantity) for customer_id, quantity in found.items()}

    def billed_quantities(self, customer_ids: Sequence[str], month: Month) -> dict[str, dict[str, Decimal]]:
        """CNT-2: per customer and item, the units billed for ``month`` (flat fees aside), not voided."""
        i, lines = bt.invoices, bt.invoice_lines
        found: dict[str, dict[str, Decimal]] = {}
        for chunk in chunks(list(customer_ids)):
            rows = self._connection.execute(
                select(lines.c.customer_id, lines.c.item_kind, lines.c.quantity)
                .join(i, i.c.id == lines.c.invoice_id)
                .where(
                    self._not_voided(),
                    lines.c.customer_id.in_(chunk),
                    lines.c.period == str(month),
                    lines.c.rule_id.in_(("BIL-2", "CNT-3", "CNT-2")),
                    lines.c.description_key != "line.recurring.flat_fee",
                )
            )
            for customer_id, item_kind, quantity in rows:
                items = found.setdefault(customer_id, {})
                items[item_kind] = items.get(item_kind, Decimal(0)) + quantity
        return found

    def latest_recurring_invoice(self, party_id: str, customer_id: str) -> StoredInvoice | None:
        i, lines = bt.invoices, bt.invoice_lines
        row = self._connection.execute(
            select(i)
            .where(
                self._not_voided(),
                i.c.invoiced_party_id == party_id,
                exists().where(
                    lines.c.invoice_id == i.c.id,
                    lines.c.customer_id == customer_id,
                    lines.c.rule_id.in_(_RECURRING_RULES),
                ),
            )
            .order_by(i.c.issued_at.desc(), i.c.number.desc())
            .limit(1)
        ).first()
        return None if row is None else self._stored(row)
