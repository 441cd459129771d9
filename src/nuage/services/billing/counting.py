"""Counting (CNT-1, CNT-2, BIL-11): the periodic count of each customer's items, the frozen,
hash-chained month-end summaries and the international numbers' holding periods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal

from nuage.billing.runs import NumberHolding
from nuage.directory.model import NumberScope
from nuage.errors import Conflict
from nuage.services.billing.common import list_customers, month_end, month_start, require_operator
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.shared.clock import business_date
from nuage.shared.month import Month
from nuage.terms.capacity import trunk_channels
from nuage.terms.counting import (
    CountRecord,
    ItemKind,
    MonthlySummary,
    freeze_monthly_summary,
    month_end_counts,
)

_GB = Decimal(10) ** 9


def current_counts(uow: BillingUnitOfWork, account_id: str, on: date) -> dict[ItemKind, Decimal]:
    """CNT-1: the items of an account as configured now (CFG-1..11, SIP-3 trunk channels)."""
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
        ItemKind.TRUNK_CHANNELS: Decimal(trunk_channels(uow.trunks.list(account_id=account_id))),  # SIP-3
    }


def record_counts(uow: BillingUnitOfWork, ctx: Context) -> int:
    """CNT-1: record today's count of every customer's items (the periodic recording); commit."""
    require_operator(ctx)
    now = ctx.clock.now().astimezone(UTC)
    records: list[CountRecord] = []
    for customer in list_customers(uow):
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
    require_operator(ctx)
    now = ctx.clock.now().astimezone(UTC)
    if now < month_end(month):
        raise Conflict(
            f"CNT-1: {month} has not ended yet; its summary is frozen at month end", month=str(month)
        )
    store = uow.billing
    report = CountReport(month)
    for customer in list_customers(uow):
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
        records = store.count_records(customer.id, month_start(month), month_end(month))
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
