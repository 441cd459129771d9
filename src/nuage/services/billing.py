"""Billing use cases over storage: count, import and rate CDRs, run the month, invoice, correct.

Each use case calls the pure domain (``terms.counting``, ``rating``, ``billing``,
``terms.contract``) and stores its result through ``BillingStore``:

* ``freeze_month(uow, ctx, month)``: CNT-1..2 monthly summary of every customer, hash-chained;
* ``import_cdrs(uow, ctx, lines)``: CDR CSV into the ``cdrs`` table (source ``import``), idempotent;
* ``rate_pending(factory, ctx)``: RAT-1..3 for both runs (TEN-5), streamed in batches;
* ``run_billing(factory, ctx, period)``: BIL-2/3/9/11, CNT-3, CTR-4, one invoice per contracting party;
* ``invoice_order``: BIL-1; ``give_notice``: CTR-2 (+ CTR-3 balance); ``declare_bankruptcy``: CTR-4;
* ``void_and_regenerate``: BIL-4, an issued invoice is never edited;
* every issuing path goes through ``issue_documents``: numbers allocated under the counter's
  lock, each document's UBL validated (BIL-4, ``services.einvoicing``) before it is stored;
  a refused document takes no number and is reported with its failing rule IDs;
* the monthly run puts a party's pending PAY-2 charges (interest, reminder fees, collection
  costs) on its invoice, as their own lines, and marks them consumed in the same transaction;
* ``list_invoices`` / ``get_invoice``: TEN-4 scoped reads.

Streaming use cases take a unit-of-work *factory*: rating reads its pending CDRs in batches on
one connection and stores them in one transaction on another, so memory stays flat; a job lock
(``BillingStore.lock``) keeps rating and billing runs from overlapping.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import TypeVar

from nuage.billing.invoices import DocumentType, InvoiceDraft, IssuedInvoice, issue
from nuage.billing.invoices import void_and_regenerate as compose_correction
from nuage.billing.lines import InvoiceLine
from nuage.billing.numbering import CREDIT_NOTE_SERIES, INVOICE_SERIES, allocate_numbers
from nuage.billing.plans import OneTimeKind, PricePlan, plan_from_lists
from nuage.billing.runs import (
    CountBasis,
    CustomerAccount,
    MonthlyRunRequest,
    NumberHolding,
    Order,
    OrderLine,
    audience_for,
    billing_run_key,
    invoice_early_termination,
    run_monthly_billing,
)
from nuage.billing.runs import (
    invoice_order as compose_order_invoice,
)
from nuage.billing.vat import BillingParty, vat_treatment
from nuage.billing.vat import PartyKind as BillingPartyKind
from nuage.directory.model import NumberScope
from nuage.directory.model import TrafficPack as DirectoryPack
from nuage.documents.findings import EInvoiceInvalid
from nuage.errors import Conflict, InvalidInput, NotFound
from nuage.rating.cdr import Cdr
from nuage.rating.csv_import import RowError, parse_cdr_csv
from nuage.rating.packs import PackBalance, PackKind, TrafficPack
from nuage.rating.rater import rate_calls
from nuage.rating.runs import RatingRun
from nuage.rating.tariffs import TariffBook
from nuage.services.billing_defaults import DEFAULT_PLAN_ID
from nuage.services.billing_ports import (
    BillingStore,
    BillingUnitOfWork,
    BillingUnitOfWorkFactory,
    ContractState,
    InvoiceHeader,
    StoredInvoice,
    TrafficMark,
)
from nuage.services.context import Context
from nuage.services.einvoicing import EInvoiceGate, PaymentSettings, validation_workers
from nuage.services.queries import Page
from nuage.shared.clock import business_date, business_midnight
from nuage.shared.collector import collector_paused
from nuage.shared.month import Month
from nuage.tenancy.model import Order as TenancyOrder
from nuage.tenancy.model import Party, PartyKind, PartyStatus
from nuage.tenancy.rules import contracting_party_id
from nuage.terms import contract as ctr
from nuage.terms.counting import (
    CountRecord,
    ItemKind,
    MonthlySummary,
    freeze_monthly_summary,
    month_end_counts,
    quarter_base_month,
    verify_chain,
)
from nuage.terms.emergency import emergency_numbers

_T = TypeVar("_T")
BILLING_JOB = "nuage-billing"  # rating and billing runs hold this lock, one at a time
_GB = Decimal(10) ** 9


def _require_operator(ctx: Context) -> None:
    if not ctx.scope.is_operator:
        raise NotFound("billing job", "-")  # TEN-4: only the operator runs billing jobs


def _month_start(month: Month) -> datetime:
    return business_midnight(month.first_day)


def _month_end(month: Month) -> datetime:
    return business_midnight(month.next().first_day)


def _customers(uow: BillingUnitOfWork) -> list[Party]:
    return uow.parties.list(kind=PartyKind.CUSTOMER.value, order_by=("id",))


# --- counting (CNT-1, CNT-2) ----------------------------------------------------------------------------


def current_counts(uow: BillingUnitOfWork, account_id: str, on: date) -> dict[ItemKind, Decimal]:
    """CNT-1: the items of an account as configured now (CFG-1..11)."""
    users = uow.users.list(account_id=account_id)
    numbers = uow.numbers.list(account_id=account_id)
    packs = [pack for pack in uow.packs.list(account_id=account_id) if pack.active_on(on)]
    recording = uow.recording.find(account_id)
    recording_gb = Decimal(0)
    if recording is not None and recording.recordings > 0:
        # CFG-9 decision: billed only when a recording is held, per started hundredth of a GB.
        recording_gb = Decimal(math.ceil(Decimal(recording.stored_bytes) * 100 / _GB)) / 100
    return {
        ItemKind.BILLABLE_USERS: Decimal(sum(1 for user in users if user.billable)),  # CFG-2
        ItemKind.NATIONAL_NUMBERS: Decimal(sum(1 for n in numbers if n.scope is NumberScope.NATIONAL)),
        ItemKind.INTERNATIONAL_NUMBERS: Decimal(
            sum(1 for n in numbers if n.scope is NumberScope.INTERNATIONAL)
        ),
        ItemKind.VIRTUAL_FAXES: Decimal(uow.faxes.count(account_id=account_id)),  # CFG-7
        ItemKind.CONFERENCE_ROOMS: Decimal(uow.conference_rooms.count(account_id=account_id)),  # CFG-8
        ItemKind.WEB_CHANNELS: Decimal(sum(c.channels for c in uow.web_channels.list(account_id=account_id))),
        ItemKind.TRAFFIC_PACKS: Decimal(sum(pack.quantity for pack in packs)),  # CFG-11
        ItemKind.RECORDING_GB: recording_gb,
    }


def record_counts(uow: BillingUnitOfWork, ctx: Context) -> int:
    """CNT-1: record today's count of every customer's items (the periodic recording); commit."""
    _require_operator(ctx)
    now = ctx.clock.now().astimezone(UTC)
    records: list[CountRecord] = []
    for customer in _customers(uow):
        for kind, quantity in current_counts(uow, customer.id, business_date(now)).items():
            records.append(CountRecord(customer.id, now, kind, quantity))
    uow.billing.add_count_records(records)
    uow.commit()
    return len(records)


@dataclass
class CountReport:
    """CNT-1: what ``freeze_month`` did, per account."""

    month: Month
    frozen: list[MonthlySummary] = field(default_factory=list)
    already_frozen: list[str] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # account id -> reason


def _sync_international_numbers(uow: BillingUnitOfWork, account_id: str, on: date) -> None:
    """BIL-11: remember when each international number was taken and released."""
    held = {
        n.e164: n.activated_on or business_date(n.created_at)
        for n in uow.numbers.list(account_id=account_id, scope=NumberScope.INTERNATIONAL.value)
    }
    known = uow.billing.number_holdings([account_id]).get(account_id, [])
    open_numbers = {holding.number for holding in known if holding.released_on is None}
    for holding in known:
        if holding.released_on is None and holding.number not in held:
            uow.billing.release_number_holding(account_id, holding, on)
    for number, taken_on in held.items():
        if number not in open_numbers:
            uow.billing.add_number_holding(account_id, NumberHolding(number, taken_on))


def freeze_month(uow: BillingUnitOfWork, ctx: Context, month: Month) -> CountReport:
    """CNT-1/CNT-2: freeze the month-end summary of every customer in service, chained by hash; commit.

    Idempotent: a month already frozen is left as it is (it is never updated).
    """
    _require_operator(ctx)
    now = ctx.clock.now().astimezone(UTC)
    if now < _month_end(month):
        raise Conflict(
            f"CNT-1: {month} has not ended yet; its summary is frozen at month end", month=str(month)
        )
    store = uow.billing
    report = CountReport(month)
    for customer in _customers(uow):
        orders = uow.orders.list(customer_id=customer.id, order_by=("service_start_on", "id"))
        if not orders or orders[0].service_start_on > month.last_day:
            report.not_started.append(customer.id)
            continue
        if store.summary(customer.id, month) is not None:
            report.already_frozen.append(customer.id)
            continue
        previous = store.latest_summary(customer.id)
        if previous is not None and previous.month.next() != month:
            wanted = previous.month.next()
            report.refused[customer.id] = (
                f"the last summary is {previous.month}; freeze {wanted} first"
                if previous.month < month
                else f"a later month ({previous.month}) is already frozen"
            )
            continue
        records = store.count_records(customer.id, _month_start(month), _month_end(month))
        # CNT-2 decision: the last count recorded in the month is the month-end count; a month
        # with no periodic record is counted from the configuration at freeze time.
        counts = (
            month_end_counts(records, month) if records else current_counts(uow, customer.id, month.last_day)
        )
        summary = freeze_monthly_summary(customer.id, month, counts, now, previous)
        store.add_summary(summary)
        _sync_international_numbers(uow, customer.id, business_date(now))
        report.frozen.append(summary)
    uow.commit()
    return report


def verify_summaries(uow: BillingUnitOfWork, ctx: Context, account_id: str) -> list[MonthlySummary]:
    """CNT-1: an account's summaries, oldest first, after checking the hash chain (Conflict if broken)."""
    ctx.scope.require(account_id, "customer")
    summaries = uow.billing.summaries(account_id)
    broken = verify_chain(summaries)
    if broken is not None:
        raise Conflict(
            f"CNT-1: summary {broken.month} of {account_id}: {broken.reason}", month=str(broken.month)
        )
    return summaries


# --- CDR import (SIP-1 -> RAT) --------------------------------------------------------------------------


@dataclass
class ImportReport:
    """SIP-1: the rows of a CDR file: stored, already stored (re-import), refused with their errors."""

    imported: int = 0
    already_imported: int = 0
    errors: list[RowError] = field(default_factory=list)


def _imported_cdr_id(cdr_id: str) -> str:
    """SIP-1 decision: an imported CDR's key is derived from the file's ``cdr_id`` (re-import = no-op)."""
    return "imp_" + hashlib.sha256(cdr_id.encode()).hexdigest()[:32]


def _batches(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    while True:
        batch = list(islice(lines, size))
        if not batch:
            return
        yield batch


def import_cdrs(
    uow: BillingUnitOfWork, ctx: Context, lines: Iterable[str], *, batch_rows: int = 5000
) -> ImportReport:
    """SIP-1: import a CDR CSV (``rating.csv_import`` format) into ``cdrs``; good rows kept, idempotent."""
    _require_operator(ctx)
    report = ImportReport()
    iterator = iter(lines)
    header = next(iterator, None)
    if header is None:
        report.errors.append(RowError(1, "header", "the file is empty"))
        return report
    header_errors = [error for error in parse_cdr_csv([header]).errors if error.row == 1]
    if header_errors:
        report.errors.extend(header_errors)  # not a CDR file: nothing else can be read
        return report
    now = ctx.clock.now()
    # EMG-4/RAT-3: a CDR may go to any emergency number, the operator's short numbers included
    emergency = emergency_numbers(item.number for item in uow.emergency_numbers.list())
    offset = 1  # lines read so far (the header)
    known_accounts: dict[str, bool] = {}
    for chunk in _batches(iterator, batch_rows):
        parsed = parse_cdr_csv([header, *chunk], emergency)
        report.errors.extend(
            replace(error, row=error.row + offset - 1) if error.row > 1 else error for error in parsed.errors
        )
        if any(error.row == 1 for error in parsed.errors):
            return report  # header errors: nothing else can be read
        offset += len(chunk)
        good: list[Cdr] = []
        for cdr in parsed.cdrs:
            if cdr.account_id not in known_accounts:
                party = uow.parties.find(cdr.account_id)
                known_accounts[cdr.account_id] = party is not None and party.kind is PartyKind.CUSTOMER
            if known_accounts[cdr.account_id]:
                good.append(cdr)
            else:
                report.errors.append(
                    RowError(0, "account_id", f"{cdr.cdr_id}: no customer {cdr.account_id!r}")
                )
        inserted = uow.billing.add_imported_cdrs([(_imported_cdr_id(cdr.cdr_id), cdr) for cdr in good], now)
        report.imported += inserted
        report.already_imported += len(good) - inserted
    uow.commit()
    return report


# --- rating (RAT-1..3, TEN-5) ---------------------------------------------------------------------------


@dataclass
class RatingReport:
    """RAT: how many cost records each run stored, and the CDRs that could not be priced."""

    stored: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (cdr id, run, reason)
    failure_count: int = 0
    batches: int = 0
    cdrs_seen: int = 0

    _FAILURES_KEPT = 100


def _rating_packs(packs: Iterable[DirectoryPack]) -> dict[str, list[TrafficPack]]:
    """CFG-11/RAT-3: the directory's packs as the rater's (minutes or amount, valid from/to)."""
    by_account: dict[str, list[TrafficPack]] = {}
    for pack in packs:
        if pack.minutes is not None:
            kind, size = PackKind.MINUTES, Decimal(pack.minutes * pack.quantity)
        elif pack.amount is not None:
            kind, size = PackKind.AMOUNT, pack.amount * pack.quantity
        else:
            continue  # a pack that only fixes channels (CAP-2) holds no traffic
        valid_to = (
            None if pack.valid_until is None else business_midnight(pack.valid_until + timedelta(days=1))
        )
        by_account.setdefault(pack.account_id, []).append(
            TrafficPack(
                pack.id,
                pack.account_id,
                f"{pack.id}@{pack.created_at.isoformat()}",
                kind,
                size,
                business_midnight(pack.valid_from),
                valid_to,
            )
        )
    return by_account


class _RatingIo:
    """RAT: the rating job's writes, in one transaction under the job's lock, run in submission
    order, on a thread of their own when the database works outside the interpreter
    (``BillingStore.overlaps_io``).

    Then the rater (pure Python) prices batch N while the server reads batch N+1 and stores
    batch N-1. One thread owns the unit of work, so its connection is never used by two at
    once. After a failure nothing else runs and the transaction is rolled back.
    """

    def __init__(self, factory: BillingUnitOfWorkFactory, *, threaded: bool) -> None:
        self._factory = factory
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="nuage-rating-io") if threaded else None
        self._scope: ExitStack | None = None
        self._uow: BillingUnitOfWork | None = None
        self._billing: BillingStore | None = None
        self._failure: BaseException | None = None

    def _store(self) -> BillingStore:
        if self._billing is None:
            with ExitStack() as scope:
                uow = scope.enter_context(self._factory())
                store = uow.billing
                store.lock(BILLING_JOB)
                self._scope, self._uow, self._billing = scope.pop_all(), uow, store
        return self._billing

    def _end(self, commit: bool) -> None:
        scope, uow, store = self._scope, self._uow, self._billing
        self._scope, self._uow, self._billing = None, None, None
        if scope is None or uow is None or store is None:
            return
        with scope:
            if commit:
                store.rating_stored()
                uow.commit()

    def _guarded(self, work: Callable[[], _T]) -> _T:
        if self._failure is not None:
            raise self._failure  # nothing runs after a failed step
        try:
            return work()
        except BaseException as error:
            self._failure = error
            raise

    def _submit(self, work: Callable[[], _T]) -> Future[_T]:
        if self._pool is not None:
            return self._pool.submit(self._guarded, work)
        future: Future[_T] = Future()
        try:
            future.set_result(self._guarded(work))
        except Exception as error:
            future.set_exception(error)
        return future

    def run(self, work: Callable[[BillingStore], _T]) -> Future[_T]:
        """Queue ``work`` on the job's store (in its transaction, which takes the lock first)."""
        return self._submit(lambda: work(self._store()))

    def close(self, commit: bool) -> None:
        """Commit what is queued (or roll it back), then stop the thread; raise an earlier failure."""
        try:
            if commit:
                self._submit(lambda: self._end(True)).result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._end(False)  # after a failure or without commit: roll back


def rate_pending(factory: BillingUnitOfWorkFactory, ctx: Context, *, batch_size: int = 20000) -> RatingReport:
    """RAT-1..3/TEN-5: rate every pending CDR in both runs, in batches of ``batch_size`` CDRs.

    One pass is one transaction under the job lock: the pending CDRs are read from a snapshot
    taken once the lock is held, so two passes never price the same call or draw the same
    pack twice, and a pass that fails stores nothing (rating again is idempotent). Accounts
    with traffic packs are read last, in call order (RAT-3: packs are drawn in call order);
    memory holds a few batches, whatever the number of CDRs.
    """
    _require_operator(ctx)
    with collector_paused():  # millions of acyclic tuples: the cyclic collector only costs time
        return _rate_pending(factory, ctx, batch_size)


def _rate_pending(factory: BillingUnitOfWorkFactory, ctx: Context, batch_size: int) -> RatingReport:
    report = RatingReport()
    with factory() as uow:
        uow.billing.refresh_statistics()
        uow.commit()
    with factory() as uow:
        books = {run: uow.billing.tariffs(run.value) for run in RatingRun}
        packs = _rating_packs(uow.packs.list())
        threaded = uow.billing.overlaps_io
    tariff_books = {run: TariffBook(versions) for run, versions in books.items() if versions}
    io = _RatingIo(factory, threaded=threaded)
    committed = False
    try:
        io.run(lambda store: None).result()  # the lock, before the snapshot below is taken
        stored: list[tuple[str, Future[int]]] = []
        with (
            factory() as reader,
            closing(
                _read_ahead(reader.billing.pending_cdrs(batch_size, call_order=packs.keys()), threaded)
            ) as batches,
        ):
            for pending in batches:
                report.batches += 1
                report.cdrs_seen += pending.size
                now = ctx.clock.now()
                for run in RatingRun:
                    cdrs = pending.of(run)
                    if cdrs:
                        _rate_run(
                            io, reader.billing, run, tariff_books.get(run), packs, cdrs, now, report, stored
                        )
                _count_stored(report, stored, wait=False)
        io.close(commit=True)
        committed = True
        _count_stored(report, stored, wait=True)
    finally:
        if not committed:
            io.close(commit=False)
    return report


def _read_ahead(batches: Iterator[_T], threaded: bool) -> Generator[_T, None, None]:
    """RAT: with a database that works outside the interpreter (``BillingStore.overlaps_io``),
    the next batches are read on a thread of its own while this one is rated; two batches ahead
    at most. Close the generator before the reader's connection: it stops the thread, which
    closes ``batches`` (the reader's cursor) itself."""
    if not threaded:
        yield from batches
        return
    with ThreadPoolExecutor(1, thread_name_prefix="nuage-rating-read") as reader:
        try:
            coming = deque(reader.submit(next, batches, None) for _ in range(2))
            while (batch := coming.popleft().result()) is not None:
                coming.append(reader.submit(next, batches, None))
                yield batch
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                reader.submit(close).result()  # after the read in flight, on the thread that read


def _count_stored(
    report: RatingReport, stored: list[tuple[str, Future[int]]], *, wait: bool, in_flight: int = 4
) -> None:
    """RAT: add the cost records stored so far to the report (raising a storage error, if any).

    Waits while more than ``in_flight`` writes are queued, so that reading never runs ahead of
    storing by more than a few batches (memory stays flat whatever the number of CDRs)."""
    while stored and (wait or len(stored) > in_flight or stored[0][1].done()):
        run, future = stored.pop(0)
        report.stored[run] = report.stored.get(run, 0) + future.result()


def _rate_run(
    io: _RatingIo,
    encoder: BillingStore,
    run: RatingRun,
    book: TariffBook | None,
    packs: Mapping[str, list[TrafficPack]],
    cdrs: list[Cdr],
    now: datetime,
    report: RatingReport,
    stored: list[tuple[str, Future[int]]],
) -> None:
    if book is None:
        report.failure_count += len(cdrs)
        for cdr in cdrs[: max(0, RatingReport._FAILURES_KEPT - len(report.failures))]:
            report.failures.append((cdr.cdr_id, run.value, "no tariff for this run"))
        return
    run_packs = (
        [pack for account in {cdr.account_id for cdr in cdrs} for pack in packs.get(account, ())]
        if packs  # no account has a pack: no need to collect this batch's accounts
        else []
    )
    balances: dict[str, PackBalance] = {}
    if run_packs:
        # RAT-3: the balances as the previous pages left them (the io thread keeps the order)
        pack_ids = [pack.pack_id for pack in run_packs]
        balances = io.run(lambda store: store.pack_balances(run.value, pack_ids)).result()
    outcome = rate_calls(cdrs, book, run=run.value, packs=run_packs, balances=balances)
    # made here, while the io thread writes the previous batch: it then only sends what is ready
    prepared = encoder.prepare_rated_calls(outcome.rated, now)
    stored.append((run.value, io.run(lambda store: store.add_prepared_rated_calls(prepared))))
    changed = [
        balance
        for pack_id, balance in outcome.balances.items()
        if balances.get(pack_id, PackBalance(pack_id)) != balance
    ]
    if changed:
        io.run(lambda store: store.save_pack_balances(run.value, changed, now))
    report.failure_count += len(outcome.failures)
    for failure in outcome.failures[: max(0, RatingReport._FAILURES_KEPT - len(report.failures))]:
        report.failures.append((failure.cdr_id, run.value, str(failure.error)))


# --- contracts, parties and plans ----------------------------------------------------------------------


def billing_party(party: Party) -> BillingParty:
    """TEN-5: the contracting party as the invoice addresses it."""
    kind = BillingPartyKind.PARTNER if party.kind is PartyKind.PARTNER else BillingPartyKind.DIRECT_CUSTOMER
    return BillingParty(
        party.id, party.name, kind, party.country, party.vat_number, True, party.language.value
    )


def ensure_contract(uow: BillingUnitOfWork, ctx: Context, customer: Party) -> ContractState | None:
    """CTR-1: the customer's contract, created from its first order (minimum term from the order)."""
    existing = uow.billing.contract_for(customer.id)
    if existing is not None:
        return existing
    orders = uow.orders.list(customer_id=customer.id, order_by=("service_start_on", "id"))
    if not orders:
        return None
    order = orders[0]
    contract = ctr.Contract(
        contract_id=f"ctr_{order.id}"[:40],
        customer_id=customer.id,
        contracting_party_id=contracting_party_id(customer),
        start_on=order.service_start_on,
        minimum_term_months=order.minimum_term_months,
    )
    state = ContractState(contract, order.id)
    uow.billing.add_contract(state, ctx.clock.now())
    return state


class _Plans:
    """BIL-2: price plans by id, loaded once per use case."""

    def __init__(self, store: BillingStore) -> None:
        self._store = store
        self._plans: dict[str, PricePlan] = {}
        self._assignments = store.plan_assignments()

    def for_customer(self, customer: Party) -> PricePlan:
        plan_id = self._assignments.get(customer.id)
        if plan_id is None and customer.partner_id is not None:
            plan_id = self._assignments.get(customer.partner_id)
        return self.get(plan_id or DEFAULT_PLAN_ID)

    def get(self, plan_id: str) -> PricePlan:
        if plan_id not in self._plans:
            lists = self._store.price_lists(plan_id)
            if not lists:
                raise NotFound("price plan", plan_id)
            self._plans[plan_id] = plan_from_lists(plan_id, lists)
        return self._plans[plan_id]


def assign_plan(uow: BillingUnitOfWork, ctx: Context, party_id: str, plan_id: str) -> None:
    """BIL-2: the plan whose prices a customer (or all of a partner's customers) is billed with."""
    _require_operator(ctx)
    uow.parties.get(party_id)
    _Plans(uow.billing).get(plan_id)
    uow.billing.assign_plan(party_id, plan_id, ctx.clock.now())
    uow.commit()


# BIL-2 decision: order lines name recurring items by ItemKind value or by these short names.
_RECURRING_ITEMS: dict[str, ItemKind] = {
    **{kind.value: kind for kind in ItemKind},
    "user": ItemKind.BILLABLE_USERS,
    "users": ItemKind.BILLABLE_USERS,
    "number": ItemKind.NATIONAL_NUMBERS,
    "national_number": ItemKind.NATIONAL_NUMBERS,
    "international_number": ItemKind.INTERNATIONAL_NUMBERS,
    "virtual_fax": ItemKind.VIRTUAL_FAXES,
    "conference_room": ItemKind.CONFERENCE_ROOMS,
    "web_channel": ItemKind.WEB_CHANNELS,
    "traffic_pack": ItemKind.TRAFFIC_PACKS,
}


def _order_quantities(order: TenancyOrder) -> dict[ItemKind, Decimal]:
    quantities: dict[ItemKind, Decimal] = {}
    for line in order.lines:
        kind = _RECURRING_ITEMS.get(line.item)
        if kind is not None:
            quantities[kind] = quantities.get(kind, Decimal(0)) + line.quantity
    return quantities


def _one_time_lines(order: TenancyOrder) -> tuple[OrderLine, ...]:
    """BIL-1: the one-time items of an order: activation, installation, hardware[:model]."""
    lines: list[OrderLine] = []
    for line in order.lines:
        head, _, model = line.item.partition(":")
        if head in {kind.value for kind in OneTimeKind}:
            key = f"line.one_time.{head}.{model}" if model else None
            lines.append(OrderLine(OneTimeKind(head), Decimal(line.quantity), description_key=key))
    return tuple(lines)


# --- issuing (BIL-4: gapless numbers in the issuing transaction) ---------------------------------------


def issue_documents(
    uow: BillingUnitOfWork,
    drafts: Sequence[InvoiceDraft],
    kind: str,
    at: datetime,
    gate: EInvoiceGate,
) -> tuple[list[StoredInvoice], dict[str, EInvoiceInvalid]]:
    """BIL-4: number, validate and store drafts; return those issued and those refused (by run key).

    Numbers are allocated under the counter's row lock; each document's Peppol UBL is built and
    validated with its number before anything is stored. A refused document is left out and the
    others renumbered, so the counter only moves over issued documents (gapless).
    """
    store = uow.billing
    issued: list[StoredInvoice] = []
    refused: dict[str, EInvoiceInvalid] = {}
    for series, document_type in (
        (INVOICE_SERIES, DocumentType.INVOICE),
        (CREDIT_NOTE_SERIES, DocumentType.CREDIT_NOTE),
    ):
        wanted = [draft for draft in drafts if draft.document_type is document_type]
        by_year: dict[int, list[InvoiceDraft]] = {}
        for draft in wanted:
            by_year.setdefault(draft.issue_on.year, []).append(draft)
        for year, year_drafts in sorted(by_year.items()):
            last = store.locked_last_number(series, year)
            candidates = year_drafts
            documents: list[IssuedInvoice] = []
            while candidates:
                numbers = allocate_numbers(series, year, last, len(candidates))
                documents = [
                    issue(draft, number, at) for number, draft in zip(numbers, candidates, strict=True)
                ]
                failures = gate.refusals(documents)
                if not failures:
                    break
                for index, error in failures.items():
                    refused[candidates[index].run_key] = error
                candidates = [draft for index, draft in enumerate(candidates) if index not in failures]
                documents = []
            if not documents:
                continue
            invoice_ids = store.add_invoices(documents, kind)
            issued.extend(map(StoredInvoice, invoice_ids, documents))
            store.set_last_number(series, year, documents[-1].number)
    order = {draft.run_key: index for index, draft in enumerate(drafts)}
    return sorted(issued, key=lambda stored: order[stored.issued.draft.run_key]), refused


def _issue_or_refuse(
    uow: BillingUnitOfWork,
    drafts: Sequence[InvoiceDraft],
    kind: str,
    at: datetime,
    settings: PaymentSettings | None,
) -> list[StoredInvoice]:
    """BIL-4: issue every draft or none: a refused e-invoice raises ``EInvoiceInvalid`` (rolled back)."""
    issued, refused = issue_documents(uow, drafts, kind, at, EInvoiceGate(uow, settings))
    if refused:
        raise next(iter(refused.values()))
    return issued


# --- the monthly run (BIL-2, BIL-3, BIL-9, BIL-11, CNT-3, CTR-4, TEN-5) --------------------------------


@dataclass
class RunReport:
    """BIL-9: what a run issued and what it found already billed."""

    period: Month
    invoices: list[StoredInvoice] = field(default_factory=list)
    already_billed: int = 0
    suspended_customers: list[str] = field(default_factory=list)
    contracts_created: int = 0
    refused: dict[str, EInvoiceInvalid] = field(default_factory=dict)  # BIL-4: party id -> why
    charges_invoiced: int = 0  # PAY-2 lines carried by this run's invoices
    einvoice_seconds: float = 0.0  # BIL-4: wall time the run spent building and validating e-invoices


def run_billing(
    factory: BillingUnitOfWorkFactory,
    ctx: Context,
    period: Month,
    *,
    run_on: date | None = None,
    parties_per_batch: int = 2500,
    settings: PaymentSettings | None = None,
    workers: int | None = None,
) -> RunReport:
    """BIL-2/BIL-3/BIL-9: the run at the end of ``period``; re-running it issues nothing new.

    BIL-4: each invoice's e-invoice is validated before it is numbered (in ``workers``
    processes, default ``validation_workers()``); a party whose invoice fails is left unbilled
    for the period, reported in ``refused`` with the failing rules, and billed by a re-run once
    fixed. PAY-2: a party's pending charges go on its invoice.

    Parties are billed ``parties_per_batch`` at a time, one transaction each. Memory holds one
    batch's calls. Marking calls invoiced (BIL-3) changes rows all over a month of cost records,
    so each batch rewrites most of the table's pages: fewer, larger batches write them fewer
    times (10,000 accounts: 20 batches of 500 spent 15 s marking and committing, 4 of 2,500
    spend 9 s). On SQLite a batch holds the database's write lock while it runs (other writers,
    such as the CDR writer, wait: about 10 s per batch of 2,500 on 2 cores).
    """
    _require_operator(ctx)
    with collector_paused():  # a million BIL-10 sources and rated calls, none of them in a cycle
        return _run_billing(factory, ctx, period, run_on, parties_per_batch, settings, workers)


def _run_billing(
    factory: BillingUnitOfWorkFactory,
    ctx: Context,
    period: Month,
    run_on: date | None,
    parties_per_batch: int,
    settings: PaymentSettings | None,
    workers: int | None,
) -> RunReport:
    report = RunReport(period)
    issue_on = run_on or business_date(ctx.clock.now())
    with factory() as uow:
        uow.billing.refresh_statistics()
        uow.commit()
    with factory() as uow:
        uow.billing.lock(BILLING_JOB)
        customers = {party.id: party for party in _customers(uow)}
        contracted = {state.contract.customer_id for state in uow.billing.contracts()}
        for customer in customers.values():
            if customer.id not in contracted and ensure_contract(uow, ctx, customer):
                report.contracts_created += 1
        uow.commit()
    with factory() as uow:
        states = uow.billing.contracts()
        parties = {
            party.id: party
            for party in uow.parties.list(kind=[PartyKind.CUSTOMER.value, PartyKind.PARTNER.value])
        }
    by_party: dict[str, list[ContractState]] = {}
    for state in states:
        served = parties.get(state.contract.customer_id)
        if served is None:
            continue
        party_id = contracting_party_id(served)  # TEN-5, as the customer is served today (PAY-4 moves)
        contract = replace(state.contract, contracting_party_id=party_id)
        by_party.setdefault(party_id, []).append(replace(state, contract=contract))
    party_ids = sorted(by_party)
    for start in range(0, len(party_ids), parties_per_batch):
        chunk = party_ids[start : start + parties_per_batch]
        with factory() as uow:
            uow.billing.lock(BILLING_JOB)
            gate = EInvoiceGate(
                uow,
                settings,
                parties=parties,
                workers=validation_workers(settings) if workers is None else workers,
            )
            _bill_parties(uow, ctx, period, issue_on, {p: by_party[p] for p in chunk}, parties, report, gate)
            uow.commit()
            report.einvoice_seconds += gate.seconds
    return report


def _bill_parties(
    uow: BillingUnitOfWork,
    ctx: Context,
    period: Month,
    issue_on: date,
    by_party: Mapping[str, list[ContractState]],
    parties: Mapping[str, Party],
    report: RunReport,
    gate: EInvoiceGate,
) -> None:
    store = uow.billing
    keys = {
        party_id: billing_run_key(invoiced_party_id=party_id, period=str(period), kind="monthly")
        for party_id in by_party
    }
    existing = store.existing_run_keys(keys.values())
    report.already_billed += len(existing)
    todo = {party_id: states for party_id, states in by_party.items() if keys[party_id] not in existing}
    if not todo:
        return
    billing_parties = {party_id: billing_party(parties[party_id]) for party_id in todo}
    customer_ids = [state.contract.customer_id for states in todo.values() for state in states]
    runs = {
        state.contract.customer_id: audience_for(billing_parties[party_id]).value
        for party_id, states in todo.items()
        for state in states
    }
    summaries = store.latest_summaries(customer_ids, period)
    base_month = quarter_base_month(period.next())
    base_users = store.billed_users(customer_ids, base_month)
    holdings = store.number_holdings(customer_ids)
    calls = store.uninvoiced_calls(runs, _month_end(period))
    plans = _Plans(store)
    accounts: list[CustomerAccount] = []
    order_cache: dict[str, TenancyOrder] = {}
    for states in todo.values():
        for state in states:
            customer_id = state.contract.customer_id
            summary = summaries.get(customer_id)
            basis: CountBasis | None
            if summary is not None:
                basis = CountBasis.from_summary(summary)
            else:
                order = order_cache.get(state.order_id) or uow.orders.get(state.order_id)
                quantities = _order_quantities(order)
                basis = CountBasis.from_order(order.id, quantities) if quantities else None
            accounts.append(
                CustomerAccount(
                    contract=state.contract,
                    plan=plans.for_customer(parties[customer_id]),
                    counts=basis,
                    quarter_base_billed_users=base_users.get(customer_id),
                    recurring_billed_through=state.recurring_billed_through,
                    rated_calls=calls.get(customer_id, ()),
                    international_numbers=holdings.get(customer_id, ()),
                )
            )
    result = run_monthly_billing(
        MonthlyRunRequest(period, issue_on, list(billing_parties.values()), accounts, existing)
    )
    report.suspended_customers.extend(result.suspended_customer_ids)
    drafts, charge_ids = _with_pending_charges(uow, result.drafts)
    issued, refused = issue_documents(uow, drafts, "monthly", ctx.clock.now(), gate)
    refused_parties = {draft.invoiced_party_id for draft in drafts if draft.run_key in refused}
    for draft in drafts:
        if draft.run_key in refused:
            report.refused[draft.invoiced_party_id] = refused[draft.run_key]
    for stored in issued:
        consumed = charge_ids.get(stored.issued.draft.invoiced_party_id, [])
        if consumed:  # PAY-2: consumed in the issuing transaction; BIL-9 keeps a re-run from repeating them
            uow.payments.mark_charges_invoiced(consumed, stored.issued.number)
            report.charges_invoiced += len(consumed)
    # BIL-3: the calls each traffic line cites are exactly those read above for its customer
    # (same filter, same transaction, under the job lock): marked per customer, counts checked.
    store.mark_traffic_invoiced(
        [
            TrafficMark(stored.invoice_id, runs[line.customer_id], line.customer_id, len(line.sources))
            for stored in issued
            for line in stored.issued.draft.lines
            if line.rule_id == "BIL-3"
        ],
        _month_end(period),
    )
    report.invoices.extend(issued)
    saved: list[ContractState] = []
    for party_id, states in todo.items():
        if party_id in refused_parties:
            continue  # not billed: the period stays open for this party (BIL-9 re-run)
        for state in states:
            through = result.recurring_billed_through.get(state.contract.customer_id)
            if through is not None and through != state.recurring_billed_through:
                saved.append(replace(state, recurring_billed_through=through))
    store.save_contracts(saved)


def _with_pending_charges(
    uow: BillingUnitOfWork, drafts: Sequence[InvoiceDraft]
) -> tuple[list[InvoiceDraft], dict[str, list[int]]]:
    """PAY-2: each draft with its party's pending charges appended as lines of their own.

    A party with pending charges but no invoice in this run keeps them for its next invoice
    (or the operator's ``invoice-charges``).
    """
    if not drafts:
        return [], {}
    wanted = {draft.invoiced_party_id for draft in drafts}
    pending: dict[str, list[tuple[int, InvoiceLine]]] = {}
    for charge in uow.payments.charges():
        if charge.party_id in wanted:
            pending.setdefault(charge.party_id, []).append((charge.charge_id, charge.line))
    out: list[InvoiceDraft] = []
    ids: dict[str, list[int]] = {}
    for draft in drafts:
        charges = pending.get(draft.invoiced_party_id)
        if charges and draft.document_type is DocumentType.INVOICE:
            draft = replace(draft, lines=draft.lines + tuple(line for _, line in charges))
            ids[draft.invoiced_party_id] = [charge_id for charge_id, _ in charges]
        out.append(draft)
    return out, ids


# --- one-time fees (BIL-1) ------------------------------------------------------------------------------


def invoice_order(
    uow: BillingUnitOfWork, ctx: Context, order_id: str, *, settings: PaymentSettings | None = None
) -> StoredInvoice | None:
    """BIL-1: invoice an order's hardware, activation and installation fees, once (BIL-9); commit."""
    _require_operator(ctx)
    order = uow.orders.get(order_id)
    customer = uow.parties.get(order.customer_id)
    store = uow.billing
    store.lock(BILLING_JOB)
    ensure_contract(uow, ctx, customer)
    party = billing_party(uow.parties.get(contracting_party_id(customer)))
    lines = _one_time_lines(order)
    plan = _Plans(store).for_customer(customer)
    draft = compose_order_invoice(
        Order(order.id, customer.id, order.service_start_on, plan, lines),
        party,
        business_date(ctx.clock.now()),
    )
    if draft is None:
        uow.commit()
        return None
    if store.existing_run_keys([draft.run_key]):
        uow.commit()
        return None
    (stored,) = _issue_or_refuse(uow, [draft], "order", ctx.clock.now(), settings)
    uow.commit()
    return stored


# --- contract life (CTR-2, CTR-3, CTR-4) ----------------------------------------------------------------


def _contract(uow: BillingUnitOfWork, ctx: Context, customer_id: str) -> tuple[Party, ContractState]:
    ctx.scope.require(customer_id, "customer")
    customer = uow.parties.get(customer_id)
    state = ensure_contract(uow, ctx, customer)
    if state is None:
        raise NotFound("contract", customer_id)
    return customer, state


@dataclass(frozen=True)
class NoticeOutcome:
    """CTR-2/CTR-3: the contract after the notice and the early-termination invoice, if any."""

    contract: ctr.Contract
    balance_invoice: StoredInvoice | None


def give_notice(
    uow: BillingUnitOfWork,
    ctx: Context,
    customer_id: str,
    received_on: date,
    *,
    requested_end_on: date | None = None,
    settings: PaymentSettings | None = None,
) -> NoticeOutcome:
    """CTR-2: record a notice (effective after the current period); CTR-3: invoice the balance if early."""
    _require_operator(ctx)
    customer, state = _contract(uow, ctx, customer_id)
    if state.contract.termination is not None:
        raise Conflict("CTR-2: the contract already has a termination notice", customer_id=customer_id)
    contract = ctr.give_notice(
        state.contract,
        received_on,
        requested_end_on=requested_end_on,
        invoiced_through=state.recurring_billed_through,
    )
    store = uow.billing
    store.lock(BILLING_JOB)
    store.save_contract(replace(state, contract=contract))
    invoice: StoredInvoice | None = None
    termination = contract.termination
    if termination is not None and termination.effective_on < contract.minimum_term_end_on:
        party_id = contracting_party_id(customer)
        previous = store.latest_recurring_invoice(party_id, customer_id)
        if previous is not None:
            draft = invoice_early_termination(
                replace(contract, contracting_party_id=party_id),
                billing_party(uow.parties.get(party_id)),
                previous.issued.draft,
                business_date(ctx.clock.now()),
                previous_invoice_number=previous.issued.number,
            )
            if draft is not None and not store.existing_run_keys([draft.run_key]):
                (invoice,) = _issue_or_refuse(uow, [draft], "early-termination", ctx.clock.now(), settings)
    uow.commit()
    return NoticeOutcome(contract, invoice)


def declare_bankruptcy(
    uow: BillingUnitOfWork, ctx: Context, customer_id: str, proof_on: date
) -> ctr.Contract:
    """CTR-4: on proof of bankruptcy, service is interrupted and billing suspended; commit."""
    _require_operator(ctx)
    customer, state = _contract(uow, ctx, customer_id)
    contract = ctr.declare_bankruptcy(state.contract, proof_on)
    uow.billing.save_contract(replace(state, contract=contract))
    uow.parties.update(
        replace(
            customer,
            status=PartyStatus.BANKRUPT,
            status_changed_at=ctx.clock.now(),
            status_reason=f"CTR-4: bankruptcy proven on {proof_on.isoformat()}",
        )
    )
    uow.commit()
    return contract


# --- corrections (BIL-4) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """BIL-4: the credit note voiding an invoice and the invoice that replaces it."""

    credit_note: StoredInvoice
    replacement: StoredInvoice | None


def void_and_regenerate(
    uow: BillingUnitOfWork,
    ctx: Context,
    number: str,
    *,
    corrected_lines: Sequence[InvoiceLine] | None = None,
    regenerate: bool = True,
    settings: PaymentSettings | None = None,
) -> Correction:
    """BIL-4: void an issued invoice by a credit note and issue its replacement; the original stays as is.

    Without ``corrected_lines`` the replacement repeats the lines with the party's current VAT
    treatment (the usual correction: a wrong VAT number or address on the party).
    """
    _require_operator(ctx)
    store = uow.billing
    store.lock(BILLING_JOB)
    stored = store.find_invoice(number)
    if stored is None:
        raise NotFound("invoice", number)
    if stored.credited_by is not None:
        raise Conflict(f"BIL-4: {number} is already voided by {stored.credited_by}", number=number)
    issue_on = business_date(ctx.clock.now())
    credit_note, replacement = compose_correction(
        stored.issued, corrected_lines if corrected_lines is not None else stored.issued.draft.lines, issue_on
    )
    party = uow.parties.get(stored.issued.draft.invoiced_party_id)
    replacement = replace(replacement, vat=vat_treatment(billing_party(party)))
    drafts = [credit_note, replacement] if regenerate and replacement.lines else [credit_note]
    issued = _issue_or_refuse(uow, drafts, "correction", ctx.clock.now(), settings)
    uow.commit()
    return Correction(issued[0], issued[1] if len(issued) > 1 else None)


# --- reads (TEN-4) --------------------------------------------------------------------------------------


def list_invoices(
    uow: BillingUnitOfWork,
    ctx: Context,
    *,
    period: Month | None = None,
    party_id: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[InvoiceHeader]:
    """BIL-4/TEN-4: invoices the caller may see (a partner its own, a customer its own), oldest first.

    ``customer_id`` keeps the invoices addressed to that customer or holding a line for it.
    """
    if limit < 1 or limit > 1000:
        raise InvalidInput("limit", "limit is 1 to 1000")
    if offset < 0:
        raise InvalidInput("offset", "offset is 0 or more")
    if customer_id is not None and not ctx.scope.can_see(customer_id):
        return Page([], 0, limit, offset)
    visible = ctx.scope.visible_ids
    party_ids: list[str] | None = None
    if party_id is not None:
        if not ctx.scope.can_see(party_id):
            return Page([], 0, limit, offset)
        party_ids = [party_id]
    elif visible is not None:
        party_ids = sorted(visible)
    headers, total = uow.billing.list_invoices(
        party_ids=party_ids,
        period=None if period is None else str(period),
        customer_id=customer_id,
        limit=limit,
        offset=offset,
    )
    return Page(headers, total, limit, offset)


def get_invoice(uow: BillingUnitOfWork, ctx: Context, number: str) -> StoredInvoice:
    """BIL-4/TEN-4: one invoice with its lines; another tenant's invoice is NotFound."""
    stored = uow.billing.find_invoice(number)
    if stored is None or not ctx.scope.can_see(stored.issued.draft.invoiced_party_id):
        raise NotFound("invoice", number)
    return stored
