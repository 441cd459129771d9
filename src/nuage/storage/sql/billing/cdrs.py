"""CDRs in storage (SIP-1, RAT): imported CDRs (idempotent by key) and the pending CDRs a rating pass
reads, batch by batch from one snapshot, each under the runs (TEN-5, chosen by the caller) that
have not priced it yet.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    select,
)

from nuage.rating.cdr import Cdr
from nuage.rating.runs import RatingRun
from nuage.services.billing.ports import (
    PendingBatch,
)
from nuage.storage.sql.billing.base import SqlBillingBase
from nuage.storage.sql.billing.codecs import (
    chunks,
)
from nuage.storage.sql.billing.rated_texts import INSTANTS_KEPT
from nuage.storage.sql.tables import cdrs

_BY_ACCOUNT = itemgetter(1)
_RETAIL = RatingRun.CUSTOMER_RETAIL.value
_WHOLESALE = RatingRun.PARTNER_WHOLESALE.value


class CdrStorage(SqlBillingBase):
    """SIP-1/RAT: stored CDRs, written by the import and read by the rating pass."""

    def add_imported_cdrs(self, records: Sequence[tuple[str, Cdr]], recorded_at: datetime) -> int:
        """SIP-1: insert imported CDRs (source ``import``); keys already stored are skipped."""
        if not records:
            return 0
        existing: set[str] = set()
        for chunk in chunks([key for key, _ in records]):
            existing.update(self._connection.execute(select(cdrs.c.id).where(cdrs.c.id.in_(chunk))).scalars())
        rows = [
            {
                "id": key,
                "call_id": cdr.cdr_id,
                "account_id": cdr.account_id,
                "direction": "outbound",
                "caller": "",
                "callee": cdr.destination,
                "started_at": cdr.started_at,
                "answered_at": cdr.started_at if cdr.billable_seconds > 0 else None,
                "ended_at": cdr.started_at + timedelta(seconds=cdr.billable_seconds),
                "billable_seconds": cdr.billable_seconds,
                "outcome": "answered" if cdr.billable_seconds > 0 else "no-answer",
                "sip_status": 200 if cdr.billable_seconds > 0 else 487,
                "emergency": cdr.emergency,
                "source": "import",
                "recorded_at": recorded_at,
            }
            for key, cdr in records
            if key not in existing
        ]
        if rows:
            self._connection.execute(self._insert_ignore(cdrs), rows)
        return len(rows)

    def imported_cdrs(self, keys: Sequence[str]) -> dict[str, Cdr]:
        """SIP-1: the CDRs stored under those of ``keys`` that are stored, as the import wrote them."""
        columns = (
            cdrs.c.id,
            cdrs.c.call_id,
            cdrs.c.account_id,
            cdrs.c.started_at,
            cdrs.c.callee,
            cdrs.c.billable_seconds,
            cdrs.c.emergency,
        )
        found: dict[str, Cdr] = {}
        for chunk in chunks(list(keys)):
            for key, *values in self._connection.execute(select(*columns).where(cdrs.c.id.in_(chunk))):
                found[key] = Cdr(*values)
        return found

    # rating --------------------------------------------------------------------------------------------
    def pending_cdrs(
        self, batch_size: int, call_order: Collection[str], runs: Mapping[str, Collection[RatingRun]]
    ) -> Iterator[PendingBatch]:
        """RAT: every answered outbound CDR some run has not rated, in batches of ``batch_size``.

        Each statement reads one snapshot; the rating job holds its lock on another connection
        for the whole pass, so nothing it rates changes underneath. CDRs of accounts outside
        ``call_order`` come first, in storage order (a sequential scan: RAT-1/RAT-2 price each
        call alone, so their order changes nothing); then those of ``call_order`` (the accounts
        with traffic packs), in call order (RAT-3: packs are drawn in call order). The rated
        flags are primary-key probes into ``rated_calls`` as the pass found it. ``runs`` says
        which runs price each account's calls (TEN-5, decided by ``rating.runs``); the CDRs of
        an account it does not name are left alone.
        """
        wanted = (
            frozenset(account for account, of in runs.items() if RatingRun.CUSTOMER_RETAIL in of),
            frozenset(account for account, of in runs.items() if RatingRun.PARTNER_WHOLESALE in of),
        )
        ordered = sorted(set(call_order))
        chosen = set(ordered)
        # PostgreSQL: each batch by account (a stable sort: each account's calls stay in order), so
        # that its cost records are stored by account. The monthly run marks the calls of a few
        # thousand accounts per transaction, and each UPDATE rewrites the page its row is on: with
        # an account's calls together in each batch, a run transaction rewrites about its share of
        # the pages instead of all of them. Not on SQLite: there the sort costs the rating pass a
        # large share of its time, and its run is well within target.
        by_account = self._dialect == "postgresql"
        yield from self._pending_batches("", (), batch_size, wanted, skip=chosen, by_account=by_account)
        for chunk in chunks(ordered, 500):
            marks = (
                ", ".join("?" for _ in chunk) if self._dialect == "sqlite" else ", ".join("%s" for _ in chunk)
            )
            yield from self._pending_batches(
                f"AND c.account_id IN ({marks}) ORDER BY c.started_at, c.id",
                tuple(chunk),
                batch_size,
                wanted,
            )

    def _pending_batches(
        self,
        where: str,
        params: tuple[Any, ...],
        batch_size: int,
        wanted: tuple[Collection[str], Collection[str]],
        *,
        skip: Collection[str] = (),
        by_account: bool = False,
    ) -> Iterator[PendingBatch]:
        sqlite_db = self._dialect == "sqlite"
        mark = "?" if sqlite_db else "%s"
        # Joins, not EXISTS subqueries: PostgreSQL may run a subquery again for every CDR as a
        # scan of rated_calls (which grows by this pass's own uncommitted rows); a join's inner
        # side is hashed once or probed by primary key. SQLite gives instants as naive UTC text
        # (``utc_text``): parsed here, and kept for the cost records that write them back.
        # PostgreSQL sends rows in binary (nothing to format or parse) in a session on UTC, so
        # instants arrive as datetimes on ``timezone.utc``, as the rater compares them fastest.
        query = (
            "SELECT c.id, c.account_id, c.started_at, c.callee, c.billable_seconds, c.emergency, "
            "r1.cdr_id IS NOT NULL, r2.cdr_id IS NOT NULL FROM cdrs c "
            f"LEFT JOIN rated_calls r1 ON r1.cdr_id = c.id AND r1.run = {mark} "
            f"LEFT JOIN rated_calls r2 ON r2.cdr_id = c.id AND r2.run = {mark} "
            f"WHERE c.direction = 'outbound' AND c.outcome = 'answered' {where}"
        )
        raw: Any = self._connection.connection.driver_connection
        if sqlite_db:
            cursor = raw.execute(query, (_RETAIL, _WHOLESALE, *params))
        else:
            raw.execute("SET LOCAL jit = off")  # one plan for the whole pass: compiling it gains nothing
            raw.execute("SET LOCAL TimeZone = 'UTC'")  # for this reading transaction only
            # server side: rows come batch by batch
            cursor = raw.cursor(name="nuage_pending_cdrs", binary=True)
            cursor.execute(query, (_RETAIL, _WHOLESALE, *params))
        retail_accounts, wholesale_accounts = wanted
        parse = datetime.fromisoformat
        texts = self._writer.texts.instants
        record = tuple.__new__  # a NamedTuple from all its fields, without the Python-level __new__ call
        try:
            while rows := cursor.fetchmany(batch_size):
                if by_account:
                    rows.sort(key=_BY_ACCOUNT)
                retail: list[Cdr] = []
                wholesale: list[Cdr] = []
                add_retail, add_wholesale = retail.append, wholesale.append
                size = 0
                if len(texts) > INSTANTS_KEPT:
                    texts.clear()
                for (
                    cdr_id,
                    account_id,
                    started,
                    callee,
                    seconds,
                    emergency,
                    retail_rated,
                    wholesale_rated,
                ) in rows:
                    retail_due = not retail_rated and account_id in retail_accounts
                    wholesale_due = not wholesale_rated and account_id in wholesale_accounts
                    if not (retail_due or wholesale_due) or account_id in skip:
                        continue  # rated in every run it needs (or nobody to charge), or read later
                    if sqlite_db:
                        text_value = started
                        started = parse(text_value + "+00:00")
                        if len(text_value) == 26:  # as ``utc_text`` writes it: the writer stores it back
                            texts[started] = text_value
                        emergency = bool(emergency)  # PostgreSQL's binary rows give a bool already
                    cdr = record(Cdr, (cdr_id, account_id, started, callee, seconds, emergency))
                    size += 1
                    if retail_due:
                        add_retail(cdr)
                    if wholesale_due:
                        add_wholesale(cdr)
                if size:
                    yield PendingBatch(size, retail, wholesale)
        finally:
            cursor.close()
