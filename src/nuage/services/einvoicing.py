"""The e-invoice check on the issuing path (BIL-4): an invoice that fails validation is not issued.

Every issuing use case (the monthly run, order invoices, early-termination invoices, credit
notes and void-and-regenerate, PAY-2 charge invoices) numbers its drafts, then builds each
document's Peppol BIS 3 UBL exactly as ``render_documents`` will and validates it offline
(UBL 2.1 XSD + EN 16931, ``documents.validation``) *before* storing anything or moving the
number counter, in the same transaction. A refused document consumes no number: the others
are renumbered without it, so numbering stays gapless, and the failing rule IDs are reported.

``PaymentSettings`` (the operator's bank account and payment days) live here because both the
issuing check and the documents need them; ``services.payments`` re-exports them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nuage.billing.invoices import IssuedInvoice
from nuage.documents.model import (
    DEFAULT_PAYMENT_DAYS,
    BankAccount,
    DocumentInput,
    PartyInfo,
    due_date,
    operator_brand,
)
from nuage.documents.ubl import build_ubl, endpoint
from nuage.documents.validation import POOL_MIN_DOCUMENTS, EInvoiceInvalid, Finding, FindingsStream
from nuage.errors import NotFound
from nuage.payments.dunning import DunningPolicy
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.tenancy.model import Party, PartyKind


@dataclass(frozen=True)
class PaymentSettings:
    """BIL-4/PAY-1/PAY-2: where invoices are paid, when they fall due, and the dunning policy."""

    iban: str = "BE68539007547034"  # the demo operator's account; set yours in nuage.toml [payments]
    bic: str = "GKCCBEBB"
    account_holder: str | None = None  # default: the operator's name
    payment_days: int = DEFAULT_PAYMENT_DAYS
    mail_from: str = "invoices@nuage.example"
    policy: DunningPolicy = field(default_factory=DunningPolicy)


def validation_workers() -> int:
    """BIL-4: worker processes for validating a large batch (``NUAGE_EINVOICE_WORKERS``; default: CPUs)."""
    configured = os.environ.get("NUAGE_EINVOICE_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(os.cpu_count() or 1, 8))


class EInvoiceGate:
    """BIL-4: builds and validates the UBL of documents about to be issued, in one transaction.

    ``parties`` may hold parties the caller already read (the run reads them all); others are
    read through the unit of work once and kept.
    """

    def __init__(
        self,
        uow: BillingUnitOfWork,
        settings: PaymentSettings | None = None,
        *,
        parties: Mapping[str, Party] | None = None,
        workers: int = 1,
    ) -> None:
        self._uow = uow
        self._settings = settings or PaymentSettings()
        self._parties: dict[str, Party | None] = dict(parties or {})
        self._workers = workers
        self._operator: Party | None = None
        self.seconds = 0.0
        """Wall time spent in ``refusals`` (building, then waiting for the validation of, e-invoices)."""

    def _party(self, party_id: str) -> Party | None:
        if party_id not in self._parties:
            self._parties[party_id] = self._uow.parties.find(party_id)
        return self._parties[party_id]

    def _seller(self) -> Party:
        if self._operator is None:
            operator = self._uow.parties.find_by(kind=PartyKind.OPERATOR.value)
            if operator is None:
                raise NotFound("operator", "-")
            self._operator = operator
        return self._operator

    def document(self, issued: IssuedInvoice) -> DocumentInput:
        """BIL-4: what the documents of ``issued`` show (not the CNT-1 summaries: the UBL lacks them)."""
        draft = issued.draft
        operator = self._seller()
        buyer = self._party(draft.invoiced_party_id)
        if buyer is None:
            raise NotFound("party", draft.invoiced_party_id)
        names = {buyer.id: buyer.name}
        for customer_id in draft.customer_ids:
            customer = self._party(customer_id)
            if customer is not None:
                names[customer_id] = customer.name
        settings = self._settings
        return DocumentInput(
            issued=issued,
            seller=PartyInfo.of(operator),
            buyer=PartyInfo.of(buyer),
            language=buyer.language.value,
            brand=operator_brand(operator),
            bank=BankAccount(settings.iban, settings.bic, settings.account_holder or operator.name),
            due_on=due_date(draft.issue_on, settings.payment_days),
            customer_names=names,
        )

    def refusals(self, documents: Sequence[IssuedInvoice]) -> dict[int, EInvoiceInvalid]:
        """BIL-4: the documents (by position) whose e-invoice fails, each with its failing rules."""
        started = time.perf_counter()
        try:
            return self._refusals(documents)
        finally:
            self.seconds += time.perf_counter() - started

    def _refusals(self, documents: Sequence[IssuedInvoice]) -> dict[int, EInvoiceInvalid]:
        refused: dict[int, EInvoiceInvalid] = {}
        built: list[int] = []
        # a large batch is validated in the worker pool while the next documents are built
        pooled = self._workers > 1 and len(documents) >= POOL_MIN_DOCUMENTS
        stream = FindingsStream(workers=self._workers if pooled else 1)
        for index, issued in enumerate(documents):
            doc = self.document(issued)
            missing = _missing_endpoints(doc)
            if missing:
                refused[index] = EInvoiceInvalid(issued.number, missing)
                continue
            stream.add(build_ubl(doc))
            built.append(index)
        for index, found in zip(built, stream.results(), strict=True):
            if found:
                refused[index] = EInvoiceInvalid(documents[index].number, found)
        return refused


def _missing_endpoints(doc: DocumentInput) -> tuple[Finding, ...]:
    """Peppol BIS 3 (PEPPOL-EN16931-R010/R020): buyer and seller need an electronic address."""
    missing = []
    for rule_id, who, party in (
        ("PEPPOL-EN16931-R020", "seller", doc.seller),
        ("PEPPOL-EN16931-R010", "buyer", doc.buyer),
    ):
        try:
            endpoint(party)
        except ValueError as exc:
            missing.append(Finding(rule_id, "fatal", who, str(exc)))
    return tuple(missing)
