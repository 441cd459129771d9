"""Invoiced traffic in storage (BIL-3): the calls each customer has not been invoiced yet and the marking
of those an invoice carries, checked against the calls its line cites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from nuage.errors import Conflict
from nuage.rating.rater import RatedCall
from nuage.services.billing.ports import (
    TrafficMark,
)
from nuage.storage.sql.billing.base import SqlBillingBase
from nuage.storage.sql.billing.codecs import (
    chunks,
    utc_text,
)

_UNINVOICED_COLUMNS = (
    "cdr_id, account_id, started_at, destination, prefix, tariff_version, billable_seconds, "
    "pack_seconds, charged_seconds, per_minute, exact_amount, amount_precise, pack_ids, emergency, itemised"
)


class TrafficStorage(SqlBillingBase):
    """BIL-3: uninvoiced calls and their marking, in the transaction of the run that invoices them."""

    def uninvoiced_calls(
        self, customer_runs: Mapping[str, str], before: datetime
    ) -> dict[str, list[RatedCall]]:
        """BIL-3: priced, itemised calls not invoiced yet, of each customer in its run, before ``before``.

        Read through the partial index ``ix_rated_calls_uninvoiced`` as plain driver rows; the
        few distinct prices and amounts are converted once each.
        """
        by_run: dict[str, list[str]] = {}
        for customer_id, run in customer_runs.items():
            by_run.setdefault(run, []).append(customer_id)
        sqlite = self._dialect != "postgresql"
        mark = "?" if sqlite else "%s"
        bound: Any = utc_text(before) if sqlite else before
        found: dict[str, list[RatedCall]] = {}
        decimals: dict[Any, Decimal] = {}
        parse = datetime.fromisoformat
        make = RatedCall._make
        raw: Any = self._connection.connection.driver_connection
        cursor = raw.cursor()
        try:
            for run, customer_ids in by_run.items():
                for chunk in chunks(customer_ids):
                    cursor.execute(
                        f"SELECT {_UNINVOICED_COLUMNS}, {'rowid' if sqlite else 'NULL'} FROM rated_calls "
                        f"WHERE run = {mark} AND account_id IN ({', '.join(mark for _ in chunk)}) "
                        f"AND invoice_id IS NULL AND itemised = {mark} AND amount_minor > 0 "
                        f"AND started_at < {mark} ORDER BY account_id, started_at, cdr_id",
                        (run, *chunk, True, bound),
                    )
                    account: str | None = None
                    calls: list[RatedCall] = []
                    places: list[int] = []
                    rows = cursor.fetchall()
                    for (cdr_id, account_id, started, destination, prefix, version, billable,
                         pack_seconds, charged, per_minute, exact, amount, pack_ids, emergency,
                         itemised, rowid) in rows:  # fmt: skip
                        if account_id != account:
                            account = account_id
                            calls = found.setdefault(account_id, [])
                            if sqlite:
                                places = self._uninvoiced_rows.setdefault((run, account_id, bound), [])
                        if sqlite:
                            places.append(rowid)
                            started = parse(started + "+00:00")  # stored as naive UTC
                            rate = decimals.get(per_minute)
                            if rate is None:
                                rate = decimals[per_minute] = Decimal(per_minute)
                            price = decimals.get(amount)
                            if price is None:
                                price = decimals[amount] = Decimal(amount)
                            per_minute, amount, exact = rate, price, Decimal(exact)
                        elif started.tzinfo is not UTC:
                            started = started.astimezone(UTC)
                        calls.append(
                            make((
                                cdr_id, account_id, run, started, destination, prefix, version, billable,
                                pack_seconds, charged, per_minute, exact, amount,
                                tuple(pack_ids.split()) if pack_ids else (), bool(emergency), bool(itemised),
                            ))
                        )  # fmt: skip
        finally:
            cursor.close()
        return found

    def mark_traffic_invoiced(self, marks: Sequence[TrafficMark], before: datetime) -> None:
        """BIL-3: one set-based update per customer (the rows ``uninvoiced_calls`` read), each
        checked against the number of calls its invoice line cites."""
        if not marks:
            return
        if self._dialect == "postgresql":
            raw: Any = self._connection.connection.driver_connection
            with raw.cursor() as cursor:
                cursor.execute(
                    "WITH v AS (SELECT unnest(%s::text[]) AS invoice_id, unnest(%s::text[]) AS run, "
                    "unnest(%s::text[]) AS account_id), "
                    "u AS (UPDATE rated_calls AS r SET invoice_id = v.invoice_id FROM v "
                    "WHERE r.run = v.run AND r.account_id = v.account_id AND r.invoice_id IS NULL "
                    "AND r.itemised AND r.amount_minor > 0 AND r.started_at < %s "
                    "RETURNING r.run, r.account_id) "
                    "SELECT run, account_id, count(*) FROM u GROUP BY run, account_id",
                    (
                        [m.invoice_id for m in marks],
                        [m.run for m in marks],
                        [m.customer_id for m in marks],
                        before,
                    ),
                )
                done = {(run, account_id): int(count) for run, account_id, count in cursor.fetchall()}
        else:
            at = utc_text(before)
            done = self._mark_read_calls(marks, at)
            cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                for mark in marks:
                    if (mark.run, mark.customer_id) in done:
                        continue
                    cursor.execute(
                        "UPDATE rated_calls SET invoice_id = ? WHERE run = ? AND account_id = ? "
                        "AND invoice_id IS NULL AND itemised = 1 AND amount_minor > 0 AND started_at < ?",
                        (mark.invoice_id, mark.run, mark.customer_id, at),
                    )
                    done[(mark.run, mark.customer_id)] = cursor.rowcount
            finally:
                cursor.close()
        for mark in marks:
            if done.get((mark.run, mark.customer_id), 0) != mark.calls:
                raise Conflict(
                    "BIL-3: the calls of a customer changed while it was invoiced; run again",
                    customer_id=mark.customer_id,
                    expected=mark.calls,
                )

    def _mark_read_calls(self, marks: Sequence[TrafficMark], at: str) -> dict[tuple[str, str], int]:
        """SQLite, BIL-3: mark the calls of each customer that ``uninvoiced_calls`` read in this
        transaction, by row and in storage order; return the count marked per (run, customer).

        A customer's calls are spread over a month of rows; updating them customer by customer
        through the index visits the pages of ``rated_calls`` in random order, again for each
        customer, whereas in storage order each page is changed once. Every row is checked
        against the same filter again (not invoiced, itemised, priced, started before ``at``, the
        stored text of the run's bound), so a row that changed since it was read is not marked
        and the count check below fails. Customers whose calls were not read here (or not as
        many as the line cites) are left to the per-customer update.
        """
        rows: list[tuple[str, int]] = []
        counted: dict[tuple[str, str], int] = {}
        for mark in marks:
            places = self._uninvoiced_rows.get((mark.run, mark.customer_id, at))
            if places is not None and len(places) == mark.calls:
                rows.extend((mark.invoice_id, place) for place in places)
                counted[(mark.run, mark.customer_id)] = mark.calls
        if not rows:
            return {}
        rows.sort(key=itemgetter(1))
        marked = self._connection.exec_driver_sql(
            "UPDATE rated_calls SET invoice_id = ? WHERE rowid = ? AND invoice_id IS NULL "
            f"AND itemised = 1 AND amount_minor > 0 AND started_at < '{at}'",
            rows,
        ).rowcount
        if marked != len(rows):  # each row is marked at most once: all of them, or some changed
            return {key: 0 for key in counted}
        for key in counted:
            del self._uninvoiced_rows[(key[0], key[1], at)]
        return counted
