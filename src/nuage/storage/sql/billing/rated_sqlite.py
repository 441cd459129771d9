"""SQLite's writer of cost records (RAT): ``INSERT OR IGNORE`` in bulk, the rows encoded ahead of
the write, and the uninvoiced index set aside during a large pass and rebuilt before its commit.
It owns its formatting memos (``RatedCallTexts``) and its pass's counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.schema import CreateIndex

from nuage.rating.rater import RatedCall
from nuage.rating.runs import RatingRun
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.codecs import RATED_COLUMNS, utc_text
from nuage.storage.sql.billing.rated_texts import RatedCallTexts

JOB_CACHE_KIB = 65536  # the page cache of a connection that runs a billing job
_SORT_CACHE_KIB = 2048  # the page cache while an index is built (its sorter's run size)
_BULK_ROWS = 40_000  # cost records a pass stores before it may set the uninvoiced index aside
_UNINVOICED_INDEX = next(i for i in bt.rated_calls.indexes if i.name == "ix_rated_calls_uninvoiced")

# A statement binds each value of each row, at a cost per value. The values every record of a
# rating pass shares (its run, its time, no invoice yet) are written by the statement; so are
# those of a plain call (no pack, not an emergency: itemised), most of a month's calls.
_PASS_COLUMNS = ("run", "rated_at", "invoice_id")
_PLAIN = {"pack_seconds": "0", "pack_ids": "''", "emergency": "0", "itemised": "1"}  # SQL literals
_BOUND_COLUMNS = [c for c in RATED_COLUMNS if c not in _PASS_COLUMNS]
_PLAIN_BOUND = [c for c in _BOUND_COLUMNS if c not in _PLAIN]

Rows = list[tuple[Any, ...]]
Encoded = tuple[str, dict[str, tuple[Rows, Rows]]]  # (rated at, per run: plain rows, other rows)


def _insert_rated(run: RatingRun, at: str, *, plain: bool) -> str:
    """``INSERT OR IGNORE`` of cost records of ``run`` rated at ``at`` (``utc_text`` text):
    both come from this module (an enum value, a formatted instant), never from input."""
    bound = _PLAIN_BOUND if plain else _BOUND_COLUMNS
    constants = {"run": f"'{run.value}'", "rated_at": f"'{at}'", "invoice_id": "NULL"}
    if plain:
        constants.update(_PLAIN)
    written = [*bound, *constants]
    values = [*("?" for _ in bound), *constants.values()]
    return f"INSERT OR IGNORE INTO rated_calls ({', '.join(written)}) VALUES ({', '.join(values)})"


class SqliteRatedCallWriter:
    """RAT: cost records into SQLite in bulk, in the connection's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.texts = RatedCallTexts()
        self._stored = 0  # cost records given to this writer (its transaction) to store
        self._inserted = 0  # of those, the ones that were new
        self._uninvoiced_before: int | None = None  # entries of the uninvoiced index before this pass
        self._set_aside = False
        self._new: dict[str, int] = {}  # new records streamed by this pass, by run

    def prepare(self, calls: Sequence[RatedCall], rated_at: datetime) -> Encoded:
        """The rows of ``calls`` as the statements bind them, by run (touches no connection)."""
        instants = self.texts.instants
        memo = self.texts.money
        money_texts = self.texts.money_texts
        rows: dict[str, tuple[Rows, Rows]] = {}
        for (cdr_id, account_id, run, started, destination, prefix, version, billable, pack_seconds,
             charged, per_minute, exact, amount, pack_ids, emergency, itemised) in calls:  # fmt: skip
            exact_text, minor, amount_text = memo.get((exact, amount)) or money_texts(exact, amount)
            started_text = instants.pop(started, None) or utc_text(started)
            of_run = rows.get(run) or rows.setdefault(run, ([], []))
            if pack_seconds or pack_ids or emergency or not itemised:
                of_run[1].append(
                    (cdr_id, account_id, started_text, destination, prefix, version, billable, pack_seconds,
                     charged, str(per_minute), exact_text, minor, amount_text, " ".join(pack_ids),
                     1 if emergency else 0, 1 if itemised else 0)
                )  # fmt: skip
            else:
                of_run[0].append(
                    (cdr_id, account_id, started_text, destination, prefix, version, billable, charged,
                     str(per_minute), exact_text, minor, amount_text)
                )  # fmt: skip
        return utc_text(rated_at), rows

    def write(self, calls: Sequence[RatedCall], rated_at: datetime, encoded: object) -> int:
        """Store ``calls`` (``encoded`` by ``prepare``, or None); an existing (cdr_id, run) is kept."""
        if not calls:
            return 0
        return sum(self._insert(len(calls), self._ready(calls, rated_at, encoded)).values())

    def stream(self, calls: Sequence[RatedCall], rated_at: datetime, encoded: object) -> None:
        """A pass's ``write``: SQLite's library works in this thread, nothing to overlap; the new
        records are counted by run for ``stored``."""
        if calls:
            self.stream_encoded(len(calls), self._ready(calls, rated_at, encoded))

    def stream_encoded(self, count: int, encoded: Encoded) -> None:
        """``stream`` of ``count`` records already ``prepare``d (by another process's writer:
        ``pass_process``)."""
        for run, inserted in self._insert(count, encoded).items():
            self._new[run] = self._new.get(run, 0) + inserted

    def _ready(self, calls: Sequence[RatedCall], rated_at: datetime, encoded: object) -> Encoded:
        """``encoded`` if ``prepare`` made it, else ``calls`` prepared now."""
        return encoded if isinstance(encoded, tuple) else self.prepare(calls, rated_at)

    def _insert(self, count: int, encoded: Encoded) -> dict[str, int]:
        self._set_uninvoiced_index_aside(count)
        at, rows = encoded
        new: dict[str, int] = {}
        for run, (plain, others) in rows.items():
            for chosen, plain_calls in ((plain, True), (others, False)):
                if chosen:
                    statement = _insert_rated(RatingRun(run), at, plain=plain_calls)
                    inserted = int(self._connection.exec_driver_sql(statement, chosen).rowcount)
                    new[run] = new.get(run, 0) + inserted
                    self._inserted += inserted
        return new

    def _set_uninvoiced_index_aside(self, coming: int) -> None:
        """Bulk load: drop ``ix_rated_calls_uninvoiced`` for the rest of the transaction once this
        pass has stored twice what the index held and at least ``_BULK_ROWS`` records.

        Its entries (account, run) land all over the index, which doubles the cost of each
        insert; built again in one sorted pass at the end (``stored``) it costs less than half of
        that per entry. The index indexes only what is left to invoice, so after a pass that
        stored that much, rebuilding it is dominated by the pass's own records. Other connections
        keep reading the committed schema (WAL) until the commit, which has the index again; a
        pass that fails rolls the drop back with everything else.
        """
        self._stored += coming
        if self._set_aside or self._stored < _BULK_ROWS:
            return  # a small pass never counts the index
        if self._uninvoiced_before is None:
            held = self._connection.exec_driver_sql(
                "SELECT count(*) FROM rated_calls WHERE invoice_id IS NULL"
            ).scalar_one()
            self._uninvoiced_before = int(held) - self._inserted  # less this pass's own
        if self._stored >= 2 * self._uninvoiced_before:
            self._connection.exec_driver_sql("DROP INDEX ix_rated_calls_uninvoiced")
            self._set_aside = True

    def stored(self) -> dict[str, int]:
        """The pass stored everything: build the uninvoiced index again if it was set aside;
        return the new records the pass streamed, by run."""
        new, self._new = self._new, {}
        if self._set_aside:
            # The build sorts every entry; SQLite's sorter sorts runs as large as the page cache,
            # then merges them. Runs of a few MB stay in the processor's cache, faster than one
            # run as large as the job's page cache.
            self._connection.exec_driver_sql(f"PRAGMA cache_size = -{_SORT_CACHE_KIB}")
            self._connection.execute(CreateIndex(_UNINVOICED_INDEX))
            self._connection.exec_driver_sql(f"PRAGMA cache_size = -{JOB_CACHE_KIB}")
            self._set_aside = False
        return new
