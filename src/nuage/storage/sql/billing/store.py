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

from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.cdrs import CdrStorage
from nuage.storage.sql.billing.contracts import ContractStorage
from nuage.storage.sql.billing.counts import CountStorage
from nuage.storage.sql.billing.invoices import InvoiceStorage
from nuage.storage.sql.billing.plans import PlanStorage
from nuage.storage.sql.billing.rated_calls import RatedCallStorage
from nuage.storage.sql.billing.rated_copy import PostgresRatedCallWriter
from nuage.storage.sql.billing.rated_sqlite import JOB_CACHE_KIB, SqliteRatedCallWriter
from nuage.storage.sql.billing.traffic import TrafficStorage


class SqlBillingStore(
    PlanStorage, CountStorage, CdrStorage, RatedCallStorage, TrafficStorage, ContractStorage, InvoiceStorage
):
    """``BillingStore`` over one SQLAlchemy connection (the unit of work's transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name
        self._writer = (
            PostgresRatedCallWriter(connection)
            if self._dialect == "postgresql"
            else SqliteRatedCallWriter(connection)
        )
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

    def refresh_statistics(self) -> None:
        """Let the planner see bulk-loaded CDRs and rated calls (PostgreSQL ``ANALYZE``)."""
        if self._dialect == "postgresql":
            self._connection.execute(text("ANALYZE cdrs, rated_calls, parties"))
        else:
            # Sampled: about 1,000 rows per index are enough to choose plans; a full ANALYZE reads
            # every row of both tables, a noticeable part of a large rating pass.
            self._connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
            self._connection.exec_driver_sql("ANALYZE cdrs")
            self._connection.exec_driver_sql("ANALYZE rated_calls")
