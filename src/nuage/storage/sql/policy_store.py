"""What the call policy keeps in the database: SIP-4 auto-dialer blocks, SIP-5 daily spending caps.

``SqlPolicyStore`` works on one open connection (a unit of work's transaction): the call
policy's adapter (``policy_adapters``) uses it from its background thread, the API from its
request's transaction. Tables: ``autodialer_blocks`` and ``call_limits`` (migration 0007).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select, update

from nuage.billing.plans import DEFAULT_PLAN_ID, Audience, plan_from_lists, plan_id_for
from nuage.errors import NotFound
from nuage.policy.autodialer import AutoDialerBlock, Subject
from nuage.rating.runs import RatingRun
from nuage.rating.tariffs import Tariff
from nuage.services.ports import SpendCap
from nuage.storage.sql import tables
from nuage.storage.sql.billing.store import SqlBillingStore
from nuage.storage.sql.billing_tables import plan_assignments, price_lists
from nuage.storage.sql.billing_tables import tariffs as tariff_table
from nuage.tenancy.model import CapacityReading, Party, PartyKind


@dataclass(frozen=True, slots=True)
class OutboundCall:
    """An answered outbound call of a CDR, as SIP-5 prices it."""

    account_id: str
    callee: str
    started_at: datetime
    billable_seconds: int


class SqlPolicyStore:
    """SIP-4 blocks and SIP-5 caps over one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # -- SIP-4 ---------------------------------------------------------------------------------
    def autodialer_blocks(self) -> list[AutoDialerBlock]:
        """Every stored block, oldest first."""
        t = tables.autodialer_blocks
        rows = self._connection.execute(select(t).order_by(t.c.blocked_at, t.c.subject_id)).all()
        return [
            AutoDialerBlock(Subject(r.subject_kind, r.subject_id), r.blocked_at, r.reason, r.account_id)
            for r in rows
        ]

    def save_autodialer_block(self, block: AutoDialerBlock) -> None:
        """Store a block (replacing one of the same subject)."""
        t = tables.autodialer_blocks
        self.delete_autodialer_block(block.subject)
        self._connection.execute(
            insert(t).values(
                subject_kind=block.subject.kind,
                subject_id=block.subject.id,
                account_id=block.account_id,
                blocked_at=block.since,
                reason=block.reason,
            )
        )

    def delete_autodialer_block(self, subject: Subject) -> bool:
        """Forget a block; whether there was one."""
        t = tables.autodialer_blocks
        done = self._connection.execute(
            delete(t).where(t.c.subject_kind == subject.kind, t.c.subject_id == subject.id)
        )
        return bool(done.rowcount)

    # -- SIP-5 ---------------------------------------------------------------------------------
    def spend_caps(self, accounts: Sequence[str] | None = None) -> dict[str, Decimal]:
        """Every account's cap that is set (of ``accounts`` only, when given)."""
        t = tables.call_limits
        statement = select(t.c.account_id, t.c.daily_spend_cap).where(t.c.daily_spend_cap.is_not(None))
        if accounts is not None:
            statement = statement.where(t.c.account_id.in_(list(accounts)))
        return {account_id: Decimal(cap) for account_id, cap in self._connection.execute(statement)}

    def spend_cap(self, account_id: str) -> SpendCap | None:
        """The account's limits row, if any."""
        t = tables.call_limits
        row = self._connection.execute(select(t).where(t.c.account_id == account_id)).first()
        if row is None:
            return None
        cap = Decimal(row.daily_spend_cap) if row.daily_spend_cap is not None else None
        return SpendCap(row.account_id, cap, row.updated_at)

    def set_spend_cap(self, account_id: str, cap: Decimal | None, at: datetime) -> SpendCap:
        """Set (or, with None, clear) the account's daily spending cap."""
        t = tables.call_limits
        changed = self._connection.execute(
            update(t).where(t.c.account_id == account_id).values(daily_spend_cap=cap, updated_at=at)
        )
        if not changed.rowcount:
            self._connection.execute(
                insert(t).values(account_id=account_id, daily_spend_cap=cap, updated_at=at)
            )
        return SpendCap(account_id, cap, at)

    def outbound_calls(self, start: datetime, end: datetime) -> list[OutboundCall]:
        """Answered, non-emergency outbound calls started in ``[start, end)``."""
        c = tables.cdrs
        rows = self._connection.execute(
            select(c.c.account_id, c.c.callee, c.c.started_at, c.c.billable_seconds).where(
                c.c.direction == "outbound",
                c.c.outcome == "answered",
                c.c.emergency.is_(False),
                c.c.account_id.is_not(None),
                c.c.started_at >= start,
                c.c.started_at < end,
            )
        )
        return [OutboundCall(a, callee, at, seconds) for a, callee, at, seconds in rows]

    # -- RAT-2: the customers' retail tariffs ----------------------------------------------------
    def plans_key(self) -> tuple[object, ...]:
        """CAP-1: what the price plans' readings depend on, cheap to read: a change rebuilds.

        A price list is only ever added (closing the previous version in the same transaction) and
        an assignment is added or re-dated, so counts, the highest id and the latest date tell."""
        p, a = price_lists, plan_assignments
        lists = self._connection.execute(select(func.count(), func.max(p.c.id))).one()
        assigned = self._connection.execute(select(func.count(), func.max(a.c.assigned_at))).one()
        return (*lists, *assigned)

    def capacity_readings(
        self, parties: list[Party], on: date, until: dict[str, date] | None = None
    ) -> dict[str, CapacityReading]:
        """CAP-1: each customer's capacity reading, as its price plan (retail, valid on ``on``) says;
        into ``until`` (when given), per customer, the first later day a retail price list of its plan
        starts or ends (its reading may change then)."""
        billing = SqlBillingStore(self._connection)
        assignments = billing.plan_assignments()
        plans = {}
        ends: dict[str, date | None] = {}
        readings: dict[str, CapacityReading] = {}
        for party in parties:
            if party.kind is not PartyKind.CUSTOMER:
                continue
            plan_id = plan_id_for(party.id, party.partner_id, assignments, DEFAULT_PLAN_ID)
            if plan_id not in plans:
                plans[plan_id] = plan = plan_from_lists(plan_id, billing.price_lists(plan_id))
                days = [
                    day
                    for p in plan.price_lists
                    if p.audience is Audience.CUSTOMER_RETAIL
                    for day in (p.valid_from, p.valid_to)
                    if day is not None and day > on
                ]
                ends[plan_id] = min(days, default=None)
            end = ends[plan_id]
            if until is not None and end is not None:
                until[party.id] = end
            try:
                reading = plans[plan_id].price_list(Audience.CUSTOMER_RETAIL, on).capacity_reading
            except NotFound:
                continue
            readings[party.id] = CapacityReading(reading)
        return readings

    def retail_tariff_versions(self) -> tuple[tuple[int, str, str], ...]:
        """(id, version, end) of the retail tariff versions stored: cheap, to know when to reload them
        (a version closed by a newer one changes its end)."""
        t = tariff_table
        rows = self._connection.execute(
            select(t.c.id, t.c.version, t.c.valid_to)
            .where(t.c.run == RatingRun.CUSTOMER_RETAIL.value)
            .order_by(t.c.id)
        )
        return tuple((int(i), str(v), str(end)) for i, v, end in rows)

    def retail_tariffs(self) -> list[Tariff]:
        """The retail tariff versions, with their prices."""
        return SqlBillingStore(self._connection).tariffs(RatingRun.CUSTOMER_RETAIL.value)
