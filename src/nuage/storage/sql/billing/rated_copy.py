"""PostgreSQL's writer of cost records (RAT): ``COPY`` text made ahead of the write, then sent
straight into ``rated_calls``, through a staging table and ``INSERT ... ON CONFLICT DO NOTHING``
when a record is already there. It owns its formatting memos (``RatedCallTexts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import errors as psycopg_errors
from sqlalchemy import Connection

from nuage.rating.rater import RatedCall
from nuage.storage.sql.billing.codecs import RATED_COLUMNS, chunks, utc_text
from nuage.storage.sql.billing.rated_texts import RatedCallTexts

COPY_CHUNK = 2000  # cost records per piece of a COPY
_COPY_SPECIAL = frozenset("\\\t\n\r")


def _copy_field(value: str) -> str:
    """A text field of PostgreSQL's COPY text format, escaped when it needs to be."""
    if _COPY_SPECIAL.isdisjoint(value):
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class PostgresRatedCallWriter:
    """RAT: cost records into PostgreSQL by ``COPY``, in the connection's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.texts = RatedCallTexts()

    def prepare(self, calls: Sequence[RatedCall], rated_at: datetime) -> tuple[str, ...]:
        """The COPY text of ``calls``, in pieces (touches no connection)."""
        return tuple(self._pieces(calls, rated_at))

    def write(self, calls: Sequence[RatedCall], rated_at: datetime, encoded: object) -> int:
        """Store ``calls`` (``encoded`` by ``prepare``, or None); return how many were new."""
        if not calls:
            return 0
        pieces = encoded if isinstance(encoded, tuple) else self._pieces(calls, rated_at)
        return self._copy(calls, rated_at, pieces)

    def stored(self) -> None:
        """The pass stored everything: nothing was set aside (dropping the uninvoiced index would
        lock readers out of ``rated_calls`` for the pass)."""

    def _copy(self, calls: Sequence[RatedCall], rated_at: datetime, pieces: Iterable[str]) -> int:
        """COPY ``pieces`` (the COPY text of ``calls``) straight into ``rated_calls``, in one
        savepoint, a piece at a time: the server stores one while the next is made or sent. If a
        call is already there, COPY into a staging table and ``INSERT ... ON CONFLICT DO NOTHING``."""
        raw: Any = self._connection.connection.driver_connection
        columns = ", ".join(RATED_COLUMNS)
        with raw.cursor() as cursor:
            cursor.execute("SAVEPOINT rated_copy")
            try:
                with cursor.copy(f"COPY rated_calls ({columns}) FROM STDIN") as copy:
                    for piece in pieces:
                        copy.write(piece)
            except psycopg_errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT rated_copy")
            else:
                cursor.execute("RELEASE SAVEPOINT rated_copy")
                return len(calls)
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS rated_calls_stage "
                "(LIKE rated_calls INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY rated_calls_stage ({columns}) FROM STDIN") as copy:
                for piece in self._pieces(calls, rated_at):
                    copy.write(piece)
            cursor.execute(
                f"INSERT INTO rated_calls ({columns}) SELECT {columns} FROM rated_calls_stage "
                "ON CONFLICT DO NOTHING"
            )
            inserted = int(cursor.rowcount)
            cursor.execute("TRUNCATE rated_calls_stage")
        return inserted

    def _pieces(self, calls: Sequence[RatedCall], rated_at: datetime) -> Iterator[str]:
        """The COPY text of ``calls``, ``COPY_CHUNK`` records a piece."""
        for chunk in chunks(calls, COPY_CHUNK):
            yield self._copy_text(chunk, rated_at)

    def _copy_text(self, calls: Sequence[RatedCall], rated_at: datetime) -> str:
        """Cost records as COPY text rows (columns in ``RATED_COLUMNS`` order), built in one pass.

        Fields are written as they are, then the text is checked with a few ``str.count``: if no
        field held a tab, newline, carriage return or backslash, it is exact; otherwise it is built
        again from escaped fields (ids and destinations never hold one in practice).
        """
        at = rated_at.astimezone(UTC).isoformat()
        text = self._copy_rows(calls, at)
        rows = len(calls)
        if (
            text.count("\t") == (len(RATED_COLUMNS) - 1) * rows
            and text.count("\n") == rows
            and text.count("\\") == rows  # the \N of invoice_id, once per row
            and "\r" not in text
        ):
            return text
        escaped = [
            c._replace(
                cdr_id=_copy_field(c.cdr_id), run=_copy_field(c.run), account_id=_copy_field(c.account_id),
                destination=_copy_field(c.destination), prefix=_copy_field(c.prefix),
                tariff_version=_copy_field(c.tariff_version),
                pack_ids=tuple(_copy_field(p) for p in c.pack_ids),
            )
            for c in calls
        ]  # fmt: skip
        return self._copy_rows(escaped, at)

    def _copy_rows(self, calls: Sequence[RatedCall], at: str) -> str:
        """COPY text rows; instants in UTC (``utc_text`` and an offset), money texts from the memo."""
        instants = self.texts.instants
        prices = self.texts.copy_prices
        copy_price = self.texts.copy_price
        plain_tail = f"\t\tf\tt\t{at}\t\\N\n"  # no pack, not an emergency, itemised: most calls
        lines: list[str] = []
        add = lines.append
        for (cdr_id, account_id, run, started, destination, prefix, version, billable, pack_seconds,
             charged, per_minute, exact, amount, pack_ids, emergency, itemised) in calls:  # fmt: skip
            price = prices.get((per_minute, exact, amount)) or copy_price(per_minute, exact, amount)
            started_text = instants.pop(started, None) or utc_text(started)
            if pack_seconds or pack_ids or emergency or not itemised:
                flags = f"{'t' if emergency else 'f'}\t{'t' if itemised else 'f'}"
                tail = f"\t{' '.join(pack_ids)}\t{flags}\t{at}\t\\N\n"
            else:
                tail = plain_tail
            add(
                f"{cdr_id}\t{run}\t{account_id}\t{started_text}+00\t{destination}\t{prefix}\t{version}\t"
                f"{billable}\t{pack_seconds}\t{charged}\t{price}{tail}"
            )
        return "".join(lines)
