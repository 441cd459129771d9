"""The monthly run (BIL-2, BIL-3, BIL-9, BIL-11, CNT-3, CTR-4, TEN-5, PAY-2): one invoice per
contracting party for a period, its pending charges as lines of their own; re-running it
issues nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from nuage.billing.invoices import DocumentType, InvoiceDraft
from nuage.billing.lines import InvoiceLine
from nuage.billing.periods import check_run
from nuage.billing.runs import (
    CountBasis,
    CustomerAccount,
    MonthlyRunRequest,
    billing_run_key,
    run_monthly_billing,
)
from nuage.documents.findings import EInvoiceInvalid
from nuage.rating.runs import invoiced_run
from nuage.services.billing.common import (
    BILLING_JOB,
    billing_party,
    list_customers,
    month_end,
    require_operator,
)
from nuage.services.billing.contracts import ensure_contract
from nuage.services.billing.issuing import issue_documents
from nuage.services.billing.plans import PlanBook
from nuage.services.billing.ports import (
    BillingStore,
    BillingUnitOfWork,
    BillingUnitOfWorkFactory,
    ContractState,
    StoredInvoice,
    TrafficMark,
)
from nuage.services.billing.summaries import require_intact_chains
from nuage.services.context import Context
from nuage.services.einvoicing import EInvoiceGate, PaymentSettings, validation_workers
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import business_date
from nuage.shared.month import Month
from nuage.tenancy.model import Order as TenancyOrder
from nuage.tenancy.model import Party, PartyKind
from nuage.tenancy.rules import contracting_party_id
from nuage.terms.counting import ItemKind, MonthlySummary, quarter_base_month


@dataclass
class RunReport:
    """BIL-9: what a run issued (or, dry, would issue) and what it found already billed."""

    period: Month
    invoices: list[StoredInvoice] = field(default_factory=list)
    already_billed: int = 0
    suspended_customers: list[str] = field(default_factory=list)
    contracts_created: int = 0
    refused: dict[str, EInvoiceInvalid] = field(default_factory=dict)  # BIL-4: party id -> why
    charges_invoiced: int = 0  # PAY-2 lines carried by this run's invoices
    einvoice_seconds: float = 0.0  # BIL-4: wall time the run spent building and validating e-invoices
    dry_run: bool = False
    drafts: list[InvoiceDraft] = field(default_factory=list)  # dry run: what would be issued, unnumbered


def run_billing(
    factory: BillingUnitOfWorkFactory,
    ctx: Context,
    period: Month,
    *,
    validator: EInvoiceValidator,
    run_on: date | None = None,
    parties_per_batch: int = 2500,
    settings: PaymentSettings | None = None,
    workers: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """BIL-2/BIL-3/BIL-9: the run at the end of ``period``; re-running it issues nothing new.

    The run must be one the rules allow (``billing.periods.check_run``): the period closed, its
    issue date ``run_on`` (default: today) neither in the future, nor before the period's end,
    nor before the last invoice issued; otherwise it is refused before anything is written.

    BIL-4: each invoice's e-invoice is validated by ``validator`` before it is numbered (in ``workers``
    processes, default ``validation_workers(settings)``); a party whose invoice fails is left unbilled
    for the period, reported in ``refused`` with the failing rules, and billed by a re-run once
    fixed. PAY-2: a party's pending charges go on its invoice.

    ``dry_run``: everything up to the drafts, in one transaction that is rolled back: the report's
    ``drafts`` are the invoices the run would issue (not numbered, not validated), nothing is kept.

    Parties are billed ``parties_per_batch`` at a time, one transaction each. Memory holds one
    batch's calls. Marking calls invoiced (BIL-3) changes rows all over a month of cost records,
    so each batch rewrites most of the table's pages: fewer, larger batches write them fewer
    times. On SQLite a batch holds the database's write lock while it runs (other writers, such
    as the CDR writer, wait for it).

    ``progress(done, total)`` hears of each batch done: the contracting parties billed so far and
    how many the run bills (a page shows the run's progress with it).

    The caller decides process-wide effects: a bulk job's entry point (the CLI, a benchmark)
    pauses the garbage collector around it (``shared.collector``); the API does not.
    """
    require_operator(ctx)
    today = business_date(ctx.clock.now())
    issue_on = run_on or today
    check_run(period, issue_on, today)
    report = RunReport(period, dry_run=dry_run)
    if dry_run:
        with factory() as uow:
            check_run(period, issue_on, today, uow.billing.last_issue_on())
            _ensure_contracts(uow, ctx, report)
            by_party, parties = _contracting_parties(uow)
            done = 0
            for chunk in _chunks(sorted(by_party), parties_per_batch):
                _bill_parties(
                    uow, ctx, period, issue_on, {p: by_party[p] for p in chunk}, parties, report, None
                )
                done += len(chunk)
                if progress is not None:
                    progress(done, len(by_party))
            uow.rollback()
        return report
    with factory() as uow:
        uow.billing.refresh_statistics()
        uow.commit()
    with factory() as uow:
        uow.billing.lock(BILLING_JOB)
        check_run(period, issue_on, today, uow.billing.last_issue_on())
        _ensure_contracts(uow, ctx, report)
        uow.commit()
    with factory() as uow:
        by_party, parties = _contracting_parties(uow)
    done = 0
    if progress is not None:
        progress(0, len(by_party))
    for chunk in _chunks(sorted(by_party), parties_per_batch):
        with factory() as uow:
            uow.billing.lock(BILLING_JOB)
            check_run(period, issue_on, today, uow.billing.last_issue_on())  # BIL-4: none later meanwhile
            gate = EInvoiceGate(
                uow,
                settings,
                validator=validator,
                parties=parties,
                workers=validation_workers(settings) if workers is None else workers,
            )
            _bill_parties(uow, ctx, period, issue_on, {p: by_party[p] for p in chunk}, parties, report, gate)
            uow.commit()
            report.einvoice_seconds += gate.seconds
        done += len(chunk)
        if progress is not None:
            progress(done, len(by_party))
    return report


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _ensure_contracts(uow: BillingUnitOfWork, ctx: Context, report: RunReport) -> None:
    """CNT-1: every summary chain intact (else nothing is billed); CTR-1: a contract for every
    customer in service that has none yet."""
    customers = {party.id: party for party in list_customers(uow)}
    require_intact_chains(uow, customers)  # CNT-1: never bill from a summary changed after freezing
    contracted = {state.contract.customer_id for state in uow.billing.contracts()}
    for customer in customers.values():
        if customer.id not in contracted and ensure_contract(uow, ctx, customer):
            report.contracts_created += 1


def _contracting_parties(
    uow: BillingUnitOfWork,
) -> tuple[dict[str, list[ContractState]], dict[str, Party]]:
    """TEN-5: the contracts per contracting party (as customers are served today), and the parties."""
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
    return by_party, parties


def _bill_parties(
    uow: BillingUnitOfWork,
    ctx: Context,
    period: Month,
    issue_on: date,
    by_party: Mapping[str, list[ContractState]],
    parties: Mapping[str, Party],
    report: RunReport,
    gate: EInvoiceGate | None,
) -> None:
    """BIL-2/BIL-3: bill these parties; with no ``gate`` (a dry run) only draft their invoices."""
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
        state.contract.customer_id: invoiced_run(
            invoiced_party_is_partner=parties[party_id].kind is PartyKind.PARTNER
        ).value
        for party_id, states in todo.items()
        for state in states
    }
    summaries = store.latest_summaries(customer_ids, period)
    after_count = _billed_after_count(store, summaries.values())  # CNT-2
    base_month = quarter_base_month(period.next())
    base_users = store.billed_users(customer_ids, base_month)
    holdings = store.number_holdings(customer_ids)
    calls = store.uninvoiced_calls(runs, month_end(period))
    plans = PlanBook(store)
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
                    billed_after_count=after_count.get(customer_id) if summary is not None else None,
                )
            )
    result = run_monthly_billing(
        MonthlyRunRequest(period, issue_on, list(billing_parties.values()), accounts, existing)
    )
    report.suspended_customers.extend(result.suspended_customer_ids)
    drafts, charge_ids = _with_pending_charges(uow, result.drafts)
    if gate is None:
        report.drafts.extend(drafts)
        return
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
        month_end(period),
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


def _billed_after_count(
    store: BillingStore, summaries: Iterable[MonthlySummary]
) -> dict[str, Mapping[str, Decimal]]:
    """CNT-2: per customer, the units invoiced for the month after its latest count (catch-up basis)."""
    by_month: dict[Month, list[str]] = {}
    for summary in summaries:
        by_month.setdefault(summary.month.next(), []).append(summary.account_id)
    found: dict[str, Mapping[str, Decimal]] = {}
    for month, customers in by_month.items():
        billed = store.billed_quantities(customers, month)
        found.update({customer_id: billed.get(customer_id, {}) for customer_id in customers})
    return found


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
    "trunk_channel": ItemKind.TRUNK_CHANNELS,  # SIP-3
}


def _order_quantities(order: TenancyOrder) -> dict[ItemKind, Decimal]:
    quantities: dict[ItemKind, Decimal] = {}
    for line in order.lines:
        kind = _RECURRING_ITEMS.get(line.item)
        if kind is not None:
            quantities[kind] = quantities.get(kind, Decimal(0)) + line.quantity
    return quantities
