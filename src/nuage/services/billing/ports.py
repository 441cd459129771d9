"""The billing storage port (RAT, CNT, BIL, CTR): what the billing use cases need from storage.

``nuage.storage.sql.billing.store.SqlBillingStore`` implements it over the unit of work's
connection, so billing writes commit or roll back with the rest of the use case. Values
crossing the port are the domain's own (``Tariff``, ``PriceList``, ``MonthlySummary``,
``RatedCall``, ``Contract``, ``IssuedInvoice``) plus the few records below.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol, runtime_checkable

from nuage.billing.invoices import DocumentType, IssuedInvoice
from nuage.billing.plans import Audience, PriceList
from nuage.billing.runs import NumberHolding
from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackBalance
from nuage.rating.rater import RatedCall
from nuage.rating.runs import RatingRun
from nuage.rating.tariffs import Tariff
from nuage.services.payments.ports import PaymentStore
from nuage.services.ports import UnitOfWork
from nuage.shared.month import Month
from nuage.terms.contract import Contract
from nuage.terms.counting import CountRecord, MonthlySummary


class PendingBatch(NamedTuple):
    """RAT-1..3/TEN-5: a batch of stored CDRs, each listed under the rating runs that have not priced it."""

    size: int  # CDRs in the batch
    retail: list[Cdr]  # not priced in the customer-retail run yet
    wholesale: list[Cdr]  # of a partner's customers (TEN-5), not priced in the partner-wholesale run yet

    def of(self, run: RatingRun) -> list[Cdr]:
        """The CDRs of this batch that ``run`` has to price."""
        return self.retail if run is RatingRun.CUSTOMER_RETAIL else self.wholesale


class PreparedRatedCalls(NamedTuple):
    """RAT: cost records to store, with the form the store writes them in, made ahead of the write
    (``BillingStore.prepare_rated_calls``)."""

    calls: Sequence[RatedCall]
    rated_at: datetime
    encoded: object  # the store's own form of the records, or None if it makes none ahead


class RatingPassWriter(Protocol):
    """RAT: the writing side of one rating pass: one transaction, under the job's lock from
    ``begin`` to ``commit`` or ``close``, writing in the order it is given work."""

    def begin(self) -> None:
        """Open the transaction and take the job's lock (before the pass reads what is pending)."""
        ...

    def pack_balances(self, run: str, pack_ids: Sequence[str]) -> dict[str, PackBalance]:
        """RAT-3: the balances of ``pack_ids`` in ``run`` as the pass's writes so far left them."""
        ...

    def stream(self, prepared: PreparedRatedCalls) -> Future[None]:
        """RAT: store ``prepared`` (made by the store's ``prepare_rated_calls``) by ``commit`` at
        the latest; the future is done when the writer took it (a failure may surface later)."""
        ...

    def save_pack_balances(self, run: str, balances: Sequence[PackBalance], at: datetime) -> None:
        """RAT-3: the packs' balances after the batches streamed so far."""
        ...

    def commit(self) -> dict[str, int]:
        """Store what is still held, commit, and return the new cost records by run."""
        ...

    def close(self) -> None:
        """End the writer; what was not committed is rolled back (after a failure, or at once)."""
        ...


class TrafficMark(NamedTuple):
    """BIL-3: the invoice that now carries a customer's calls of a run, and how many it cites."""

    invoice_id: str
    run: str
    customer_id: str
    calls: int


@dataclass(frozen=True)
class ContractState:
    """CTR-1..4/BIL-9: a stored contract, the order it comes from and the last period billed."""

    contract: Contract
    order_id: str
    recurring_billed_through: Month | None = None


@dataclass(frozen=True)
class ContractEvent:
    """CTR-2/CTR-4: one change of a contract's life, kept as its audit trail (never changed)."""

    customer_id: str
    at: datetime
    action: str  # notice, notice-withdrawn, terminated, bankruptcy, bankruptcy-reversed
    detail: str
    actor_id: str  # the party whose staff acted (the operator), or "daily-job"


@dataclass(frozen=True)
class StoredInvoice:
    """BIL-4: an issued document as stored, with what later cancelled or replaced it."""

    invoice_id: str
    issued: IssuedInvoice
    credited_by: str | None = None  # number of the credit note that voids it
    replaced_by: str | None = None  # number of the invoice that replaces it


@dataclass(frozen=True)
class InvoiceHeader:
    """BIL-4: one row of an invoice list (no lines)."""

    number: str
    document_type: DocumentType
    invoiced_party_id: str
    issue_on: date
    period: str | None
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    line_count: int
    replaces: str | None
    credits: str | None
    credited_by: str | None


class BillingStore(Protocol):
    """Billing storage bound to one transaction (the unit of work's)."""

    # jobs ------------------------------------------------------------------------------------------
    def lock(self, job: str) -> None:
        """Serialise ``job`` (rating, billing run) across processes until the transaction ends."""
        ...

    def refresh_statistics(self) -> None:
        """Update the query planner's statistics after bulk loads (before streaming jobs)."""
        ...

    @property
    def overlaps_io(self) -> bool:
        """Whether the database works outside this process (a server), so that a streaming job
        gains by reading and writing on a thread of its own while Python computes."""
        ...

    def rating_pass_process(self, job: str, min_backlog: int) -> RatingPassWriter | None:
        """RAT: a writer of a rating pass in a process of its own, started now, when the database
        works inside this process (SQLite: its library holds the interpreter lock for each row)
        and about ``min_backlog`` CDRs or more look unrated; None: the pass writes through a unit
        of work of this process."""
        ...

    # tariffs and price plans (RAT-2, BIL-2) --------------------------------------------------------
    def has_tariff(self, run: str, version: str) -> bool: ...
    def add_tariff(self, run: str, tariff: Tariff, created_at: datetime) -> None: ...
    def tariffs(self, run: str) -> list[Tariff]: ...
    def close_tariff(self, run: str, version: str, valid_to: datetime) -> None: ...
    def has_price_list(self, plan_id: str, audience: Audience, version: str) -> bool: ...
    def add_price_list(self, plan_id: str, price_list: PriceList, created_at: datetime) -> None: ...
    def price_lists(self, plan_id: str) -> list[PriceList]: ...
    def close_price_list(self, plan_id: str, audience: Audience, version: str, valid_to: date) -> None: ...
    def plan_ids(self) -> list[str]: ...
    def assign_plan(self, party_id: str, plan_id: str, at: datetime) -> None: ...
    def plan_assignments(self) -> dict[str, str]: ...

    # counting (CNT-1..3, BIL-11) -------------------------------------------------------------------
    def add_count_records(self, records: Sequence[CountRecord]) -> None: ...
    def count_records(self, account_id: str, start_at: datetime, end_at: datetime) -> list[CountRecord]: ...
    def add_summary(self, summary: MonthlySummary) -> None:
        """CNT-1: insert a frozen summary; an existing (account, month) raises Conflict."""
        ...

    def summary(self, account_id: str, month: Month) -> MonthlySummary | None: ...
    def latest_summary(self, account_id: str) -> MonthlySummary | None: ...
    def summaries(self, account_id: str) -> list[MonthlySummary]: ...
    def summaries_of(self, account_ids: Sequence[str]) -> dict[str, list[MonthlySummary]]:
        """CNT-1: ``summaries`` of many accounts in one read (the chains a billing run checks)."""
        ...

    def latest_summaries(self, account_ids: Sequence[str], up_to: Month) -> dict[str, MonthlySummary]: ...
    def number_holdings(self, account_ids: Sequence[str]) -> dict[str, list[NumberHolding]]: ...
    def add_number_holding(self, account_id: str, holding: NumberHolding) -> None: ...
    def release_number_holding(self, account_id: str, holding: NumberHolding, released_on: date) -> None: ...

    # CDRs (SIP-1) --------------------------------------------------------------------------------
    def add_imported_cdrs(self, cdrs: Sequence[tuple[str, Cdr]], recorded_at: datetime) -> int:
        """SIP-1: store imported CDRs under the given keys; keys already stored are skipped."""
        ...

    def imported_cdrs(self, keys: Sequence[str]) -> dict[str, Cdr]:
        """SIP-1: the CDRs stored under those of ``keys`` that are stored (an import's, as imported)."""
        ...

    # rating (RAT-1..3) -----------------------------------------------------------------------------
    def pending_cdrs(
        self, batch_size: int, call_order: Collection[str], runs: Mapping[str, Collection[RatingRun]]
    ) -> Iterator[PendingBatch]:
        """RAT: every answered outbound CDR some run has not rated, in batches, from one snapshot.

        ``runs`` names, per account, the runs that price its calls (TEN-5, ``rating.runs``); a
        CDR is listed under each of those that has not priced it yet, CDRs of other accounts not at all.

        The accounts in ``call_order`` (those with traffic packs) come last, each account's CDRs
        in call order (RAT-3); the others in whatever order reads fastest (RAT-1/RAT-2 price each
        call alone). Read on a connection of its own while the job's lock is held elsewhere.
        """
        ...

    def pack_balances(self, run: str, pack_ids: Iterable[str]) -> dict[str, PackBalance]: ...
    def save_pack_balances(self, run: str, balances: Iterable[PackBalance], at: datetime) -> None: ...
    def add_rated_calls(self, calls: Sequence[RatedCall], rated_at: datetime) -> int:
        """RAT: store cost records; one already stored for (cdr_id, run) is left as it is."""
        ...

    def prepare_rated_calls(self, calls: Sequence[RatedCall], rated_at: datetime) -> PreparedRatedCalls:
        """RAT: cost records put in the form this store writes them in. Touches no connection, so a
        streaming job prepares a batch on a thread of its own while the store writes the last."""
        ...

    def add_prepared_rated_calls(self, prepared: PreparedRatedCalls) -> int:
        """RAT: ``add_rated_calls`` of what ``prepare_rated_calls`` made (of this kind of store)."""
        ...

    def stream_rated_calls(self, prepared: PreparedRatedCalls) -> None:
        """RAT: a rating pass's ``add_prepared_rated_calls``: the records may reach storage after
        this returns (a store may keep one bulk write open over several batches), but in this
        transaction and by the end of ``rating_stored``; a storage error may surface on a later call."""
        ...

    def rating_stored(self) -> dict[str, int]:
        """RAT: the pass has streamed all its cost records; called once, before its commit.

        A store may set up its bulk writes as it likes during the pass; here it stores what it
        still holds and restores the storage shape others read (indexes), in the same transaction.
        Returns how many new cost records, by run, the pass streamed (a record already stored
        for its CDR and run is left as it is and not counted).
        """
        ...

    def rated_calls(self, cdr_ids: Sequence[str]) -> list[RatedCall]: ...
    def uninvoiced_calls(
        self, customer_runs: Mapping[str, str], before: datetime
    ) -> dict[str, list[RatedCall]]: ...

    def mark_traffic_invoiced(self, marks: Sequence[TrafficMark], before: datetime) -> None:
        """BIL-3: set the invoice of every call ``uninvoiced_calls`` returned for each customer.

        One set-based update per customer (its run, not invoiced, itemised, priced, started
        before ``before``), checked against the number of calls the invoice line cites; any
        difference raises ``Conflict`` (the transaction is then rolled back).
        """
        ...

    # contracts (CTR-1..4) --------------------------------------------------------------------------
    def contracts(self) -> list[ContractState]: ...
    def contract_for(self, customer_id: str) -> ContractState | None: ...
    def add_contract(self, state: ContractState, created_at: datetime) -> None: ...
    def save_contract(self, state: ContractState) -> None: ...
    def save_contracts(self, states: Sequence[ContractState]) -> None:
        """CTR/BIL-9: ``save_contract`` for many contracts, in bulk."""
        ...

    def add_contract_event(self, event: ContractEvent) -> None: ...
    def contract_events(self, customer_id: str) -> list[ContractEvent]:
        """CTR-2/CTR-4: a contract's audit trail, oldest first."""
        ...

    # invoices (BIL-1..4, BIL-9, BIL-10) ------------------------------------------------------------
    def existing_run_keys(self, keys: Iterable[str]) -> set[str]: ...
    def locked_last_number(self, series: str, year: int) -> str | None:
        """BIL-4: the last number of a series, its row locked until the transaction ends."""
        ...

    def set_last_number(self, series: str, year: int, number: str) -> None: ...
    def add_invoice(self, issued: IssuedInvoice, kind: str) -> str:
        """BIL-4/BIL-9: store an issued document and its run key; return its id."""
        ...

    def add_invoices(self, documents: Sequence[IssuedInvoice], kind: str) -> list[str]:
        """BIL-4/BIL-9: store issued documents (in bulk) and their run keys; return their ids in order."""
        ...

    def find_invoice(self, number: str) -> StoredInvoice | None: ...
    def last_issue_on(self) -> date | None:
        """BIL-4: the date of the last invoice or credit note issued (None: none yet)."""
        ...

    def list_invoices(
        self,
        *,
        party_ids: Sequence[str] | None,
        period: str | None,
        customer_id: str | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[InvoiceHeader], int]: ...
    def billed_users(self, customer_ids: Sequence[str], month: Month) -> dict[str, int]:
        """CNT-3: users billed for ``month`` on invoices not voided, per customer."""
        ...

    def billed_quantities(self, customer_ids: Sequence[str], month: Month) -> dict[str, dict[str, Decimal]]:
        """CNT-2: per customer and item kind, the units billed for ``month`` (flat fees aside) on
        invoices not voided (BIL-2, CNT-3 and CNT-2 catch-up lines)."""
        ...

    def latest_recurring_invoice(self, party_id: str, customer_id: str) -> StoredInvoice | None:
        """CTR-3: the newest invoice not voided with recurring lines for the customer."""
        ...


@runtime_checkable
class BillingUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches billing storage, in the same transaction."""

    @property
    def billing(self) -> BillingStore: ...

    @property
    def payments(self) -> PaymentStore:
        """PAY-1/PAY-2 storage in the same transaction (the run consumes pending charges)."""
        ...


class BillingUnitOfWorkFactory(Protocol):
    """Makes a fresh billing unit of work (one per batch when a use case streams)."""

    def __call__(self) -> BillingUnitOfWork: ...
