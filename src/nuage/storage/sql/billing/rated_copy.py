"""PostgreSQL's writer of cost records (RAT): binary ``COPY`` rows made ahead of the write
(``rated_binary``), then sent straight into ``rated_calls``, through a staging table and
``INSERT ... ON CONFLICT DO NOTHING`` when a record is already there. It owns its encoding memos.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from psycopg import errors as psycopg_errors
from sqlalchemy import Connection

from nuage.rating.rater import RatedCall
from nuage.storage.sql.billing.codecs import RATED_COLUMNS, chunks
from nuage.storage.sql.billing.rated_binary import HEADER, TRAILER, RatedCallBinary
from nuage.storage.sql.billing.rated_texts import RatedCallTexts

COPY_CHUNK = 2000  # cost records per piece of a COPY
_COLUMNS = ", ".join(RATED_COLUMNS)


class PostgresRatedCallWriter:
    """RAT: cost records into PostgreSQL by binary ``COPY``, in the connection's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.texts = RatedCallTexts()  # the reader's memo of instants: unused by the binary form
        self._binary = RatedCallBinary()

    def prepare(self, calls: Sequence[RatedCall], rated_at: datetime) -> tuple[bytes, ...]:
        """The binary COPY stream of ``calls``, in pieces (touches no connection)."""
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

    def _copy(self, calls: Sequence[RatedCall], rated_at: datetime, pieces: Iterable[bytes]) -> int:
        """COPY ``pieces`` (the stream of ``calls``) straight into ``rated_calls``, in one savepoint,
        a piece at a time: the server stores one while the next is sent. If a call is already
        there, COPY into a staging table and ``INSERT ... ON CONFLICT DO NOTHING``."""
        raw: Any = self._connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute("SAVEPOINT rated_copy")
            try:
                with cursor.copy(f"COPY rated_calls ({_COLUMNS}) FROM STDIN (FORMAT binary)") as copy:
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
            with cursor.copy(f"COPY rated_calls_stage ({_COLUMNS}) FROM STDIN (FORMAT binary)") as copy:
                for piece in self._pieces(calls, rated_at):
                    copy.write(piece)
            cursor.execute(
                f"INSERT INTO rated_calls ({_COLUMNS}) SELECT {_COLUMNS} FROM rated_calls_stage "
                "ON CONFLICT DO NOTHING"
            )
            inserted = int(cursor.rowcount)
            cursor.execute("TRUNCATE rated_calls_stage")
        return inserted

    def _pieces(self, calls: Sequence[RatedCall], rated_at: datetime) -> Iterator[bytes]:
        """The binary COPY stream of ``calls``, ``COPY_CHUNK`` records a piece: the header before
        the first, the trailer after the last."""
        encode = self._binary.rows
        pieces = [encode(chunk, rated_at) for chunk in chunks(calls, COPY_CHUNK)]
        pieces[0] = HEADER + pieces[0]
        pieces[-1] += TRAILER
        yield from pieces
