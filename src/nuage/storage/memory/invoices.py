"""Invoices in the in-memory billing store (BIL-1..4, BIL-9, BIL-10, CNT-3, CTR-3): run keys, the number
counters, issued documents (never updated), the invoice list and the reads of earlier invoices a run
needs, answered as ``storage.sql.billing.invoices`` answers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from nuage.billing.invoices import DocumentType, IssuedInvoice
from nuage.errors import Conflict
from nuage.services.billing.ports import InvoiceHeader, StoredInvoice
from nuage.shared.ids import new_id
from nuage.shared.money import from_minor, to_minor
from nuage.shared.month import Month
from nuage.storage.memory.tables import MemoryTables
from nuage.terms.counting import ItemKind

INVOICE_TABLES = (
    "invoices",  # invoice id -> Invoice
    "invoice_counters",  # (series, year) -> last number or None
    "billing_runs",  # run key -> invoice id
)
_RECURRING_RULES = ("BIL-2", "BIL-11", "CNT-3")


class Invoice(NamedTuple):
    """BIL-4/BIL-9: an issued document as stored, and the kind of run that issued it."""

    issued: IssuedInvoice
    kind: str


class MemoryInvoices(MemoryTables):
    """BIL-1..4/BIL-9: issued documents, their numbers and run keys."""

    def existing_run_keys(self, keys: Iterable[str]) -> set[str]:
        runs = self._table("billing_runs")
        return {key for key in keys if key in runs}

    def locked_last_number(self, series: str, year: int) -> str | None:
        """BIL-4: the counter (created when missing), locked until the transaction ends."""
        self._uow.hold(f"invoice-counter:{series}:{year}")
        found: str | None = self._table("invoice_counters").setdefault((series, year), None)
        return found

    def set_last_number(self, series: str, year: int, number: str) -> None:
        counters = self._table("invoice_counters")
        if (series, year) in counters:
            counters[(series, year)] = number

    def add_invoice(self, issued: IssuedInvoice, kind: str) -> str:
        (invoice_id,) = self.add_invoices([issued], kind)
        return invoice_id

    def add_invoices(self, documents: Sequence[IssuedInvoice], kind: str) -> list[str]:
        """BIL-4/BIL-9: a number or run key already stored is a ``Conflict``, as their unique keys make it."""
        invoices, runs = self._table("invoices"), self._table("billing_runs")
        numbers = {invoice.issued.number for invoice in invoices.values()}
        ids = [new_id("inv") for _ in documents]
        for invoice_id, issued in zip(ids, documents, strict=True):
            if issued.number in numbers:
                raise Conflict(f"invoice {issued.number} already exists", field="number")
            if issued.draft.run_key in runs:
                raise Conflict(f"run {issued.draft.run_key} already billed", field="run_key")
            numbers.add(issued.number)
            invoices[invoice_id] = Invoice(issued, kind)
            runs[issued.draft.run_key] = invoice_id
        return ids

    def _numbers_of(self, field: str) -> dict[str, str]:
        """The numbers of the documents that credit (``credits``) or replace (``replaces``) each number."""
        found: dict[str, str] = {}
        for invoice in self._table("invoices").values():
            target = getattr(invoice.issued.draft, field)
            if target is not None:
                found.setdefault(target, invoice.issued.number)
        return found

    def _stored(self, invoice_id: str) -> StoredInvoice:
        issued = self._table("invoices")[invoice_id].issued
        number = issued.number
        return StoredInvoice(
            invoice_id,
            issued,
            self._numbers_of("credits").get(number),
            self._numbers_of("replaces").get(number),
        )

    def find_invoice(self, number: str) -> StoredInvoice | None:
        for invoice_id, invoice in self._table("invoices").items():
            if invoice.issued.number == number:
                return self._stored(invoice_id)
        return None

    def last_issue_on(self) -> date | None:
        return max(
            (invoice.issued.draft.issue_on for invoice in self._table("invoices").values()), default=None
        )

    def list_invoices(
        self,
        *,
        party_ids: Sequence[str] | None,
        period: str | None,
        customer_id: str | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[InvoiceHeader], int]:
        chosen = []
        for invoice in self._table("invoices").values():
            draft = invoice.issued.draft
            if party_ids is not None and draft.invoiced_party_id not in party_ids:
                continue
            if period is not None and (draft.period is None or str(draft.period) != period):
                continue
            if customer_id is not None and not (
                draft.invoiced_party_id == customer_id
                or any(line.customer_id == customer_id for line in draft.lines)
            ):
                continue
            chosen.append(invoice.issued)
        chosen.sort(key=lambda issued: (issued.issued_at, issued.number))
        credited = self._numbers_of("credits")
        headers = []
        for issued in chosen[offset : offset + limit]:
            draft, totals = issued.draft, issued.totals
            headers.append(
                InvoiceHeader(
                    number=issued.number,
                    document_type=draft.document_type,
                    invoiced_party_id=draft.invoiced_party_id,
                    issue_on=draft.issue_on,
                    period=None if draft.period is None else str(draft.period),
                    currency=draft.currency,
                    net=from_minor(to_minor(totals.net)),
                    vat=from_minor(to_minor(totals.vat)),
                    gross=from_minor(to_minor(totals.gross)),
                    line_count=len(draft.lines),
                    replaces=draft.replaces,
                    credits=draft.credits,
                    credited_by=credited.get(issued.number),
                )
            )
        return headers, len(chosen)

    def _not_voided(self) -> list[tuple[str, IssuedInvoice]]:
        credited = self._numbers_of("credits")
        return [
            (invoice_id, invoice.issued)
            for invoice_id, invoice in self._table("invoices").items()
            if invoice.issued.draft.document_type is DocumentType.INVOICE
            and invoice.issued.number not in credited
        ]

    def billed_users(self, customer_ids: Sequence[str], month: Month) -> dict[str, int]:
        """CNT-3: sum of the user lines (flat fees aside) for ``month`` on invoices not voided."""
        wanted = set(customer_ids)
        found: dict[str, Decimal] = {}
        for _, issued in self._not_voided():
            for line in issued.draft.lines:
                if (
                    line.customer_id in wanted
                    and line.period == month
                    and line.item_kind == ItemKind.BILLABLE_USERS.value
                    and line.rule_id in ("BIL-2", "CNT-3", "CNT-2")
                    and line.description_key != "line.recurring.flat_fee"
                ):
                    found[line.customer_id] = found.get(line.customer_id, Decimal(0)) + line.quantity
        return {customer_id: int(quantity) for customer_id, quantity in found.items()}

    def billed_quantities(self, customer_ids: Sequence[str], month: Month) -> dict[str, dict[str, Decimal]]:
        """CNT-2: per customer and item, the units billed for ``month`` (flat fees aside), not voided."""
        wanted = set(customer_ids)
        found: dict[str, dict[str, Decimal]] = {}
        for _, issued in self._not_voided():
            for line in issued.draft.lines:
                if (
                    line.customer_id in wanted
                    and line.period == month
                    and line.rule_id in ("BIL-2", "CNT-3", "CNT-2")
                    and line.description_key != "line.recurring.flat_fee"
                ):
                    items = found.setdefault(line.customer_id, {})
                    items[line.item_kind] = items.get(line.item_kind, Decimal(0)) + line.quantity
        return found

    def latest_recurring_invoice(self, party_id: str, customer_id: str) -> StoredInvoice | None:
        """CTR-3: the newest invoice not voided with recurring lines for the customer."""
        found = [
            (issued.issued_at, issued.number, invoice_id)
            for invoice_id, issued in self._not_voided()
            if issued.draft.invoiced_party_id == party_id
            and any(
                line.customer_id == customer_id and line.rule_id in _RECURRING_RULES
                for line in issued.draft.lines
            )
        ]
        if not found:
            return None
        return self._stored(max(found)[2])
