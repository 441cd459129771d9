"""Billing runs (BIL-1, BIL-2, BIL-3, BIL-9, BIL-11, CNT-3, CTR-3, CTR-4, TEN-5): use cases.

Entry points (pure: plain values in, invoice drafts out; storage numbers and stores them):

* ``run_monthly_billing(request)`` → ``MonthlyRunResult``: the run at the end of period P
  (on the plan's run day, the 28th by default): recurring services for P+1 (BIL-2, with the
  pro-rata started period at service start and any period not billed yet), international
  numbers in their 12-month minimum (BIL-11), out-of-pack traffic of P (BIL-3). One draft
  per contracting party (TEN-5): a partner gets one invoice with lines per customer.
* ``invoice_early_termination(contract, party, previous_invoice, issue_on, ...)`` → draft of
  the CTR-3 balance.
* ``billing_run_key(...)``: BIL-9 keys; a draft whose key is in ``existing_run_keys`` is not
  produced again, so re-running a period bills nothing twice.

What storage passes in, per customer (``CustomerAccount``): the contract (CTR), the price
plan, the count basis (the latest frozen monthly summary, CNT-1, or the order quantities
before the first month-end count), the users billed for the quarter's base month (CNT-3,
see ``terms.counting.quarter_base_month(P+1)``), the last period already billed for recurring
services, the international numbers held (BIL-11) and the rated calls not invoiced yet
(from the rating run the contracting party is invoiced, ``rating.runs.invoiced_run`` (TEN-5):
customer-retail for direct customers, partner-wholesale for a partner's customers). The
one-time fees of an order (BIL-1) are ``billing.one_time``. After storing the drafts, storage records
``MonthlyRunResult.recurring_billed_through`` per customer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from nuage.billing.catch_up import catch_up_lines
from nuage.billing.charge_models import charge_model
from nuage.billing.invoices import DocumentType, InvoiceDraft
from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.periods import pro_rata
from nuage.billing.plans import Audience, PriceList, PricePlan
from nuage.billing.vat import BillingParty, PartyKind, vat_treatment
from nuage.errors import NotFound
from nuage.rating.rater import RatedCall
from nuage.shared.clock import business_midnight
from nuage.shared.money import ZERO
from nuage.shared.month import Month
from nuage.terms.contract import (
    Contract,
    PreviousService,
    add_months,
    billing_suspended,
    early_termination_balance,
)
from nuage.terms.counting import ItemKind, MonthlySummary, billed_users

_RUN_KEY_VERSION = "v1"  # changing this breaks uniqueness for existing runs (Lago's warning)
INTERNATIONAL_MINIMUM_MONTHS = 12  # BIL-11
_RECURRING_RULES = frozenset({"BIL-2", "BIL-11", "CNT-3"})


def billing_run_key(*, invoiced_party_id: str, period: str, kind: str) -> str:
    """BIL-9: one key per (party, period, kind); a unique index makes a re-run a no-op."""
    parts = {"invoiced_party_id": invoiced_party_id, "kind": kind, "period": period}
    material = "|".join(f"{key}={value}" for key, value in sorted(parts.items()))
    return hashlib.sha256(f"{_RUN_KEY_VERSION}|{material}".encode()).hexdigest()


def audience_for(party: BillingParty) -> Audience:
    """TEN-5: a partner pays wholesale prices, a direct customer retail prices."""
    return Audience.PARTNER_WHOLESALE if party.kind is PartyKind.PARTNER else Audience.CUSTOMER_RETAIL


@dataclass(frozen=True)
class CountBasis:
    """CNT-1/BIL-10: the quantities a run bills and the record they come from."""

    quantities: Mapping[ItemKind, Decimal]
    source_kind: str  # "monthly-summary" or "order"
    source_id: str
    counted_in: Month | None = None  # CNT-2: the month whose month-end count this is (None: an order)

    @classmethod
    def from_summary(cls, summary: MonthlySummary) -> CountBasis:
        """CNT-1: bill the month-end count of a frozen monthly summary."""
        return cls(
            summary.counts,
            "monthly-summary",
            f"{summary.account_id}:{summary.month}:{summary.hash}",
            summary.month,
        )

    @classmethod
    def from_order(cls, order_id: str, quantities: Mapping[ItemKind, Decimal]) -> CountBasis:
        """BIL-2: before the first month-end count, bill the quantities of the order form."""
        return cls(dict(quantities), "order", order_id)

    def source(self, kind: ItemKind) -> SourceRef:
        """BIL-10: the row of this basis a line cites."""
        return SourceRef(self.source_kind, f"{self.source_id}:{kind.value}")


@dataclass(frozen=True)
class NumberHolding:
    """BIL-11: an international number an account holds or held."""

    number: str
    taken_on: date
    released_on: date | None = None

    def minimum_end_on(self) -> date:
        """BIL-11: the first day after the 12-month minimum."""
        return add_months(self.taken_on, INTERNATIONAL_MINIMUM_MONTHS)


@dataclass(frozen=True)
class CustomerAccount:
    """TEN-5/BIL-2: everything the monthly run needs about one final customer."""

    contract: Contract
    plan: PricePlan
    counts: CountBasis | None  # None: nothing counted yet, no recurring line
    quarter_base_billed_users: int | None = None  # CNT-3
    recurring_billed_through: Month | None = None  # BIL-9: last period already invoiced
    rated_calls: Sequence[RatedCall] = ()  # BIL-3: rated, not invoiced yet
    international_numbers: Sequence[NumberHolding] = ()  # BIL-11
    billed_after_count: Mapping[str, Decimal] | None = None  # CNT-2: units invoiced for the month
    # after ``counts.counted_in``, per item kind (None: that month is not invoiced yet)

    @property
    def customer_id(self) -> str:
        """TEN-1: the final customer."""
        return self.contract.customer_id


@dataclass(frozen=True)
class MonthlyRunRequest:
    """BIL-2/BIL-3: the billing run at the end of ``period`` (P), run on ``run_on``."""

    period: Month
    run_on: date
    parties: Sequence[BillingParty]
    customers: Sequence[CustomerAccount]
    existing_run_keys: Container[str] = frozenset()


@dataclass(frozen=True)
class MonthlyRunResult:
    """BIL-9: the drafts of a run, the parties skipped as already billed, and what to record."""

    drafts: tuple[InvoiceDraft, ...]
    skipped_run_keys: tuple[str, ...]
    recurring_billed_through: Mapping[str, Month]  # customer id → last period now invoiced
    suspended_customer_ids: tuple[str, ...]  # CTR-4
    invoiced_call_ids: tuple[str, ...] = field(default=())  # BIL-3: to mark as invoiced


def _recurring_months(account: CustomerAccount, period: Month) -> list[Month]:
    """BIL-2: periods to bill now: from the service start (or after the last billed) to P+1."""
    contract = account.contract
    first = Month.of(contract.start_on)
    if account.recurring_billed_through is not None:
        first = max(first, account.recurring_billed_through.next())
    months: list[Month] = []
    month = first
    while month <= period.next():
        if contract.in_service(month):
            months.append(month)
        month = month.next()
    return months


def _proration(contract: Contract, month: Month) -> Fraction | None:
    """BIL-2: the started period at service start is invoiced pro rata from the start date."""
    if Month.of(contract.start_on) == month and contract.start_on.day > 1:
        return pro_rata(contract.start_on)
    return None


def _recurring_lines(account: CustomerAccount, month: Month, prices: PriceList) -> list[InvoiceLine]:
    basis = account.counts
    if basis is None:
        return []
    customer_id = account.customer_id
    proration = _proration(account.contract, month)
    params = {"period": str(month)}
    if proration is not None:
        params["share"] = f"{proration.numerator}/{proration.denominator}"
    lines: list[InvoiceLine] = []
    for kind, spec in prices.recurring.items():
        counted = basis.quantities.get(kind, ZERO)
        quantity = counted
        rule_id = "BIL-2"
        kind_params = dict(params)
        if kind is ItemKind.BILLABLE_USERS:
            users = billed_users(int(counted), account.quarter_base_billed_users)
            quantity = Decimal(users.billed)
            if users.floor_applied:
                rule_id = "CNT-3"  # billed above the count by the quarterly floor
                kind_params.update(counted=str(users.counted), floor=str(users.floor))
        for part in charge_model(spec).parts(quantity):
            key = "line.recurring.flat_fee" if part.flat else f"line.recurring.{kind.value}"
            lines.append(
                make_line(
                    rule_id=rule_id,
                    description_key=key,
                    customer_id=customer_id,
                    item_kind=kind.value,
                    period=month,
                    quantity=part.units,
                    unit_price=part.unit_price,
                    sources=(basis.source(kind),),
                    proration=proration,
                    params=kind_params if part.tier is None else {**kind_params, "tier": str(part.tier + 1)},
                )
            )
    lines.extend(_international_minimum_lines(account, month, prices, proration))
    return lines


def _international_minimum_lines(
    account: CustomerAccount, month: Month, prices: PriceList, proration: Fraction | None
) -> list[InvoiceLine]:
    """BIL-11: numbers released before 12 months are billed until their minimum term ends."""
    spec = prices.recurring.get(ItemKind.INTERNATIONAL_NUMBERS)
    if spec is None:
        return []
    # BIL-11 decision: a released international number is billed for every period that starts
    # before taken_on + 12 months, at the first-tier unit price, on a line of its own.
    held = [
        holding
        for holding in account.international_numbers
        if holding.released_on is not None
        and holding.released_on <= month.first_day
        and month.first_day < holding.minimum_end_on()
    ]
    if not held:
        return []
    return [
        make_line(
            rule_id="BIL-11",
            description_key="line.recurring.international_number_minimum_term",
            customer_id=account.customer_id,
            item_kind=ItemKind.INTERNATIONAL_NUMBERS.value,
            period=month,
            quantity=Decimal(len(held)),
            unit_price=spec.base_unit_price,
            sources=tuple(SourceRef("number", holding.number) for holding in held),
            proration=proration,
            params={"period": str(month)},
        )
    ]


def _traffic_line(account: CustomerAccount, period: Month, audience: Audience) -> InvoiceLine | None:
    """BIL-3: out-of-pack traffic of P (and late calls of earlier periods), priced per call by RAT-1."""
    run = audience.value
    customer_id = account.customer_id
    ends_at = business_midnight(period.next().first_day)  # Month.at(started_at) <= period
    calls = [
        call
        for call in account.rated_calls
        if call.started_at < ends_at
        and call.itemised
        and call.amount > 0
        and call.run == run
        and call.account_id == customer_id
    ]
    if not calls:
        return None
    # BIL-3 decision: one line per customer; amounts are the RAT-1 per-call amounts, summed
    # without further rounding; the line cites every priced call. Quantity 1 keeps
    # quantity × unit price = amount; the call count and seconds are description parameters.
    total = sum([call.amount for call in calls], ZERO)
    return make_line(
        rule_id="BIL-3",
        description_key="line.traffic.out_of_pack",
        customer_id=account.customer_id,
        item_kind="traffic",
        period=period,
        quantity=Decimal(1),
        unit_price=total,
        sources=tuple(SourceRef("rated-call", call.cdr_id) for call in calls),
        params={
            "calls": str(len(calls)),
            "seconds": str(sum(call.charged_seconds for call in calls)),
            "period": str(period),
        },
    )


def _catch_up(account: CustomerAccount, audience: Audience) -> list[InvoiceLine]:
    """CNT-2: the month after the count, already invoiced from an older count, brought up to it."""
    basis = account.counts
    if basis is None or basis.counted_in is None or account.billed_after_count is None:
        return []
    month = basis.counted_in.next()
    if account.recurring_billed_through is None or month > account.recurring_billed_through:
        return []  # not invoiced yet: this run bills it from this count
    if not account.contract.in_service(month):
        return []
    return catch_up_lines(
        customer_id=account.customer_id,
        month=month,
        counted=basis.quantities,
        billed=account.billed_after_count,
        prices=account.plan.price_list(audience, month.first_day),
        sources={kind: basis.source(kind) for kind in ItemKind},
        counted_in=basis.counted_in,
    )


def _party_index(parties: Iterable[BillingParty]) -> dict[str, BillingParty]:
    return {party.party_id: party for party in parties}


def run_monthly_billing(request: MonthlyRunRequest) -> MonthlyRunResult:
    """BIL-2/BIL-3/BIL-9/TEN-5: compose the invoices of the run at the end of period P."""
    parties = _party_index(request.parties)
    period = request.period
    lines_by_party: dict[str, list[InvoiceLine]] = {}
    billed_through: dict[str, Month] = {}
    suspended: list[str] = []
    call_ids: list[str] = []
    skipped: list[str] = []
    keys: dict[str, str] = {}
    for account in request.customers:
        contract = account.contract
        party = parties.get(contract.contracting_party_id)
        if party is None:
            raise NotFound("contracting party", contract.contracting_party_id)
        key = billing_run_key(invoiced_party_id=party.party_id, period=str(period), kind="monthly")
        keys[party.party_id] = key
        if key in request.existing_run_keys:
            if key not in skipped:
                skipped.append(key)
            continue
        if billing_suspended(contract, request.run_on):
            # CTR-4 decision: from the bankruptcy proof date no run invoices the customer,
            # neither recurring services nor traffic; earlier invoices stay due.
            suspended.append(account.customer_id)
            continue
        audience = audience_for(party)
        lines = lines_by_party.setdefault(party.party_id, [])
        months = _recurring_months(account, period)
        for month in months:
            lines.extend(_recurring_lines(account, month, account.plan.price_list(audience, month.first_day)))
        lines.extend(_catch_up(account, audience))
        if months and account.counts is not None:
            billed_through[account.customer_id] = months[-1]
        traffic = _traffic_line(account, period, audience)
        if traffic is not None:
            lines.append(traffic)
            call_ids.extend(source.key for source in traffic.sources)
    drafts = tuple(
        InvoiceDraft(
            run_key=keys[party_id],
            document_type=DocumentType.INVOICE,
            invoiced_party_id=party_id,
            issue_on=request.run_on,
            period=period,
            lines=tuple(lines),
            vat=vat_treatment(parties[party_id]),
        )
        for party_id, lines in lines_by_party.items()
        if lines
    )
    return MonthlyRunResult(drafts, tuple(skipped), billed_through, tuple(suspended), tuple(call_ids))


def previous_services(previous_invoice: InvoiceDraft, customer_id: str) -> tuple[PreviousService, ...]:
    """CTR-3: the recurring services of the previous invoice for a customer (its latest period)."""
    recurring = [
        line
        for line in previous_invoice.lines
        if line.customer_id == customer_id and line.rule_id in _RECURRING_RULES and line.period is not None
    ]
    if not recurring:
        return ()
    latest = max(line.period for line in recurring if line.period is not None)
    return tuple(
        PreviousService(
            customer_id,
            line.item_kind,
            line.quantity,
            line.unit_price,
            f"{previous_invoice.run_key}:{index}",
        )
        for index, line in enumerate(recurring)
        if line.period == latest
    )


def invoice_early_termination(
    contract: Contract,
    party: BillingParty,
    previous_invoice: InvoiceDraft,
    issue_on: date,
    *,
    previous_invoice_number: str | None = None,
    existing_run_keys: Container[str] = frozenset(),
) -> InvoiceDraft | None:
    """CTR-3: invoice the balance of the contract: previous services × remaining months of the term."""
    balance = early_termination_balance(contract, previous_services(previous_invoice, contract.customer_id))
    key = billing_run_key(
        invoiced_party_id=party.party_id,
        period=balance.from_on.isoformat(),
        kind=f"early-termination:{contract.contract_id}",
    )
    if key in existing_run_keys or not balance.items:
        return None
    months = balance.remaining_months
    invoice_ref = previous_invoice_number or previous_invoice.run_key
    lines = tuple(
        make_line(
            rule_id="CTR-3",
            description_key=f"line.early_termination.{item.service.item_kind}",
            customer_id=contract.customer_id,
            item_kind=item.service.item_kind,
            period=None,
            quantity=item.service.quantity,
            unit_price=item.service.unit_price,
            sources=(SourceRef("invoice", invoice_ref), SourceRef("contract", contract.contract_id)),
            proration=months,
            params={
                "months": f"{months.numerator}/{months.denominator}",
                "term_end": contract.minimum_term_end_on.isoformat(),
            },
        )
        for item in balance.items
    )
    return InvoiceDraft(
        run_key=key,
        document_type=DocumentType.INVOICE,
        invoiced_party_id=party.party_id,
        issue_on=issue_on,
        period=Month.of(balance.from_on),
        lines=lines,
        vat=vat_treatment(party),
    )
