"""Counts in storage (CNT-1..3, BIL-11): periodic count records, the frozen monthly summaries (never
updated) and the international numbers' holding periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import (
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from nuage.billing.runs import NumberHolding
from nuage.errors import Conflict
from nuage.shared.month import Month
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.base import SqlBillingBase
from nuage.storage.sql.billing.codecs import (
    chunks,
    summary_from_row,
)
from nuage.terms.counting import CountRecord, ItemKind, MonthlySummary


class CountStorage(SqlBillingBase):
    """CNT-1..3/BIL-11: count records, monthly summaries and number holdings."""

    def add_count_records(self, records: Sequence[CountRecord]) -> None:
        if records:
            self._connection.execute(
                insert(bt.count_records),
                [
                    {
                        "account_id": r.account_id,
                        "counted_at": r.counted_at,
                        "kind": r.kind.value,
                        "quantity": r.quantity,
                    }
                    for r in records
                ],
            )

    def count_records(self, account_id: str, start_at: datetime, end_at: datetime) -> list[CountRecord]:
        c = bt.count_records
        rows = self._connection.execute(
            select(c)
            .where(c.c.account_id == account_id, c.c.counted_at >= start_at, c.c.counted_at < end_at)
            .order_by(c.c.counted_at, c.c.id)
        ).all()
        return [CountRecord(row.account_id, row.counted_at, ItemKind(row.kind), row.quantity) for row in rows]

    def add_summary(self, summary: MonthlySummary) -> None:
        """CNT-1: insert only; a summary that exists is never replaced."""
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(bt.monthly_summaries).values(
                        account_id=summary.account_id,
                        month=str(summary.month),
                        items={kind.value: str(quantity) for kind, quantity in summary.items},
                        frozen_at=summary.frozen_at,
                        previous_hash=summary.previous_hash,
                        hash=summary.hash,
                    )
                )
        except IntegrityError as error:
            raise Conflict(
                f"CNT-1: the summary of {summary.month} for {summary.account_id} is already frozen",
                account_id=summary.account_id,
                month=str(summary.month),
            ) from error

    def summary(self, account_id: str, month: Month) -> MonthlySummary | None:
        s = bt.monthly_summaries
        row = self._connection.execute(
            select(s).where(s.c.account_id == account_id, s.c.month == str(month))
        ).first()
        return None if row is None else summary_from_row(row)

    def latest_summary(self, account_id: str) -> MonthlySummary | None:
        s = bt.monthly_summaries
        row = self._connection.execute(
            select(s).where(s.c.account_id == account_id).order_by(s.c.month.desc()).limit(1)
        ).first()
        return None if row is None else summary_from_row(row)

    def summaries(self, account_id: str) -> list[MonthlySummary]:
        s = bt.monthly_summaries
        rows = self._connection.execute(
            select(s).where(s.c.account_id == account_id).order_by(s.c.month)
        ).all()
        return [summary_from_row(row) for row in rows]

    def summaries_of(self, account_ids: Sequence[str]) -> dict[str, list[MonthlySummary]]:
        s = bt.monthly_summaries
        found: dict[str, list[MonthlySummary]] = {account_id: [] for account_id in account_ids}
        for chunk in chunks(list(account_ids)):
            rows = self._connection.execute(
                select(s).where(s.c.account_id.in_(chunk)).order_by(s.c.account_id, s.c.month)
            )
            for row in rows:
                found[row.account_id].append(summary_from_row(row))
        return found

    def latest_summaries(self, account_ids: Sequence[str], up_to: Month) -> dict[str, MonthlySummary]:
        s = bt.monthly_summaries
        found: dict[str, MonthlySummary] = {}
        for chunk in chunks(list(account_ids)):
            latest = (
                select(s.c.account_id, func.max(s.c.month).label("month"))
                .where(s.c.account_id.in_(chunk), s.c.month <= str(up_to))
                .group_by(s.c.account_id)
                .subquery()
            )
            rows = self._connection.execute(
                select(s).join(
                    latest, and_(s.c.account_id == latest.c.account_id, s.c.month == latest.c.month)
                )
            ).all()
            for row in rows:
                found[row.account_id] = summary_from_row(row)
        return found

    def number_holdings(self, account_ids: Sequence[str]) -> dict[str, list[NumberHolding]]:
        h = bt.number_holdings
        found: dict[str, list[NumberHolding]] = {}
        for chunk in chunks(list(account_ids)):
            for row in self._connection.execute(
                select(h).where(h.c.account_id.in_(chunk)).order_by(h.c.taken_on)
            ):
                found.setdefault(row.account_id, []).append(
                    NumberHolding(row.number, row.taken_on, row.released_on)
                )
        return found

    def add_number_holding(self, account_id: str, holding: NumberHolding) -> None:
        self._connection.execute(
            insert(bt.number_holdings).values(
                account_id=account_id, number=holding.number, taken_on=holding.taken_on, released_on=None
            )
        )

    def release_number_holding(self, account_id: str, holding: NumberHolding, released_on: date) -> None:
        h = bt.number_holdings
        self._connection.execute(
            update(h)
            .where(
                h.c.account_id == account_id, h.c.number == holding.number, h.c.taken_on == holding.taken_on
            )
            .values(released_on=released_on)
        )
