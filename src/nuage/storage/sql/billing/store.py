"""The SQL adapter of the billing port (``services.billing.ports.BillingStore``): one store per unit
of work, made of the parts of this package, bound to the unit of work's connection so billing rows
commit with the rest of a use case; it owns the jobs' lock.

Hot paths (rating) stream and write in bulk: one scan of ``cdrs`` read batch by batch (a
server-side cursor on PostgreSQL) and the dialect's ``RatedCallWriter``. Invoice numbers are
allocated under a row lock in the issuing transaction (BIL-4: gapless). There is no UPDATE path
for monthly summaries, invoices or invoice lines; the migration's triggers refuse one as well.
"""

from __future__ import annotations

from sqlalchemy import Connection, literal, text, update

from nuage.services.billing.ports import RatingPassWriter
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.cdrs import CdrStorage
from nuage.storage.sql.billing.contracts import ContractStorage
from nuage.storage.sql.billing.counts import CountStorage
from nuage.storage.sql.billing.invoices import InvoiceStorage
from nuage.storage.sql.billing.pass_process import SqlitePassProcess
from nuage.storage.sql.billing.plans import PlanStorage
from nuage.storage.sql.billing.rated_calls import RatedCallStorage, RatedCallWriter
from nuage.storage.sql.billing.rated_sqlite import JOB_CACHE_KIB, Encoded, SqliteRatedCallWriter
from nuage.storage.sql.billing.traffic import TrafficStorage

# The tables a billing job's plans depend on whose statistics are stale, as autovacuum judges it.
_STALE_STATISTICS = (
    "SELECT relname FROM pg_stat_user_tables "
    "WHERE relid IN ('cdrs'::regclass, 'rated_calls'::regclass, 'parties'::regclass) "
    "AND (coalesce(last_analyze, last_autoanalyze) IS NULL OR n_mod_since_analyze > 50 + n_live_tup / 10) "
    "ORDER BY relname"
)


class SqlBillingStore(
    PlanStorage, CountStorage, CdrStorage, RatedCallStorage, TrafficStorage, ContractStorage, InvoiceStorage
):
    """``BillingStore`` over one SQLAlchemy connection (the unit of work's transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name
        if self._dialect == "postgresql":
            # here, not at the top: psycopg's import is for PostgreSQL's stores only (a SQLite
            # pass's writing process starts faster without it)
            from nuage.storage.sql.billing.rated_copy import PostgresRatedCallWriter

            self._writer: RatedCallWriter = PostgresRatedCallWriter(connection)
        else:
            self._writer = SqliteRatedCallWriter(connection)
        self._uninvoiced_rows = {}

    # jobs ----------------------------------------------------------------------------------------------
    def lock(self, job: str) -> None:
        """Serialise ``job`` across processes until the transaction ends."""
        if self._dialect == "postgresql":
            self._connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:job))"), {"job": job})
        else:
            # SQLite: take the database write lock now (one writer at a time). Jobs write in bulk
            # into indexes larger than the default 2 MB page cache; give this connection 64 MB
            # (a bound that does not depend on the number of CDRs).
            self._connection.exec_driver_sql(f"PRAGMA cache_size = -{JOB_CACHE_KIB}")
            self._connection.execute(update(bt.invoice_counters).where(literal(False)).values(year=0))

    @property
    def overlaps_io(self) -> bool:
        """PostgreSQL works in its server; SQLite's library takes the interpreter lock for each row."""
        return self._dialect == "postgresql"

    def rating_pass_process(self, job: str, min_backlog: int) -> RatingPassWriter | None:
        """RAT: on a SQLite file, when about ``min_backlog`` CDRs or more lie beyond the cost
        records stored (the backlog a pass would rate, roughly: from the tables' largest row ids,
        two index probes; partners' customers' calls are rated twice), the pass's writer in a
        process of its own (``pass_process``), started now; else None."""
        if self._dialect != "sqlite":
            return None
        url = self._connection.engine.url
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None  # a database no other process can open by its name
        cdr_rows, rated_rows = self._connection.exec_driver_sql(
            "SELECT (SELECT coalesce(max(rowid), 0) FROM cdrs), "
            "(SELECT coalesce(max(rowid), 0) FROM rated_calls)"
        ).one()
        if int(cdr_rows) - int(rated_rows) < min_backlog:
            return None
        return SqlitePassProcess(url.render_as_string(hide_password=False), job)

    def stream_encoded_rated_calls(self, count: int, encoded: Encoded) -> None:
        """RAT: ``stream_rated_calls`` of ``count`` records a SQLite store of another process
        prepared (``pass_process``)."""
        if not isinstance(self._writer, SqliteRatedCallWriter):
            raise TypeError("encoded cost records are SQLite's")
        self._writer.stream_encoded(count, encoded)

    def refresh_statistics(self) -> None:
        """Let the planner see bulk-loaded CDRs and rated calls (PostgreSQL ``ANALYZE``)."""
        if self._dialect == "postgresql":
            # Only the tables whose statistics are stale, as autovacuum judges it (never analysed,
            # or more than 50 rows + 10 % changed since): analysing a million fresh CDRs again costs
            # a pass about a second of the server's time before it can read anything.
            stale = self._connection.execute(text(_STALE_STATISTICS)).scalars().all()
            if stale:
                self._connection.execute(text(f"ANALYZE {', '.join(stale)}"))
        else:
            # Sampled: about 1,000 rows per index are enough to choose plans; a full ANALYZE reads
            # every row of both tables, a noticeable part of a large rating pass.
            self._connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
            self._connection.exec_driver_sql("ANALYZE cdrs")
            self._connection.exec_driver_sql("ANALYZE rated_calls")
