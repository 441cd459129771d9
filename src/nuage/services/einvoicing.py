"""The e-invoice check on the issuing path (BIL-4): an invoice that fails validation is not issued.

Every issuing use case (the monthly run, order invoices, early-termination invoices, credit
notes and void-and-regenerate, PAY-2 charge invoices) numbers its drafts, then builds each
document's Peppol BIS 3 UBL exactly as ``render_documents`` will and validates it offline
(UBL 2.1 XSD + EN 16931, through the ``EInvoiceValidator`` port) *before* storing anything or
moving the number counter, in the same transaction. A refused document consumes no number: the
others are renumbered without it, so numbering stays gapless, and the failing rule IDs are
reported. The document checked is assembled by ``documents.model.document_input``; what it
shows is frozen with the issued document (``documents.snapshot``), and the stored PDF and UBL
are rendered from that (TEN-2: same brand).

``PaymentSettings`` (the operator's bank account, payment days, dunning policy; built from
``Settings.payments`` by the composition root) live here because both the issuing check and
the documents use cases need them. The validator is a port the composition root hands to every
issuing path (``Platform.einvoice_validator``), which gives it to its gate.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nuage.billing.invoices import IssuedInvoice
from nuage.documents.findings import EInvoiceInvalid, Finding
from nuage.documents.model import DEFAULT_PAYMENT_DAYS, BankAccount, DocumentInput, document_input
from nuage.documents.ubl import build_ubl, endpoint
from nuage.errors import NotFound
from nuage.payments.dunning import DunningPolicy
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.payments.ports import EInvoiceValidator
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
    einvoice_workers: int | None = None  # processes validating a large batch; None: one per CPU (up to 8)

    def bank(self, operator: Party) -> BankAccount:
        """PAY-1: the account invoices are paid to (held by the operator unless set otherwise)."""
        return BankAccount(self.iban, self.bic, self.account_holder or operator.name)


def validation_workers(settings: PaymentSettings | None = None) -> int:
    """BIL-4: worker processes for validating a large batch (``einvoice_workers``; default: CPUs)."""
    if settings is not None and settings.einvoice_workers is not None:
        return max(1, settings.einvoice_workers)
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
        validator: EInvoiceValidator,
        workers: int = 1,
    ) -> None:
        self._uow = uow
        self._settings = settings or PaymentSettings()
        self._validator = validator
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
        """BIL-4/TEN-2: what the documents of ``issued`` show (not the CNT-1 summaries: no UBL field)."""
        draft = issued.draft
        operator = self._seller()
        buyer = self._party(draft.invoiced_party_id)
        if buyer is None:
            raise NotFound("party", draft.invoiced_party_id)
        partner = self._party(buyer.partner_id) if buyer.partner_id else None
        names: dict[str, str] = {}
        for customer_id in draft.customer_ids:
            customer = self._party(customer_id)
            if customer is not None:
                names[customer_id] = customer.name
        return document_input(
            issued,
            operator=operator,
            buyer=buyer,
            partner=partner,
            bank=self._settings.bank(operator),
            payment_days=self._settings.payment_days,
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
        stream = self._validator.batch(workers=self._workers, size=len(documents))
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
