"""PostgreSQL's writer of cost records (RAT): binary ``COPY`` rows made ahead of the write
(``rated_binary``), then sent straight into ``rated_calls``, through a staging table and
``INSERT ... ON CONFLICT DO NOTHING`` when a record is already there. It owns its encoding memos.

A rating pass streams its records: one ``COPY`` stays open over several batches (``stream``), so
the server is never idle between them waiting for the next statement, and a pass sends a few
dozen statements instead of four per batch and run. The stream ends (``settle``) once it holds
``STREAM_RECORDS`` records, before any other statement on the connection, before a commit and
when the pass is done; a rollback drops it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from psycopg import errors as psycopg_errors
from sqlalchemy import Connection, event

from nuage.rating.rater import RatedCall
from nuage.storage.sql.billing.codecs import RATED_COLUMNS, chunks
from nuage.storage.sql.billing.rated_binary import HEADER, TRAILER, RatedCallBinary
from nuage.storage.sql.billing.rated_texts import RatedCallTexts

COPY_CHUNK = 2000  # cost records per piece of a COPY
STREAM_RECORDS = 100_000  # cost records one streamed COPY holds before it ends (kept until then)
_COLUMNS = ", ".join(RATED_COLUMNS)
_COPY = f"COPY rated_calls ({_COLUMNS}) FROM STDIN (FORMAT binary)"
_RUN = itemgetter(2)  # RatedCall.run
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS rated_calls_stage "
    "(LIKE rated_calls INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_INSERT_STAGED = (
    f"WITH added AS (INSERT INTO rated_calls ({_COLUMNS}) SELECT {_COLUMNS} FROM rated_calls_stage "
    "ON CONFLICT DO NOTHING RETURNING run) SELECT run, count(*) FROM added GROUP BY run"
)

Encoded = tuple[tuple[bytes, ...], Counter[str]]  # the COPY rows in pieces, the records by run


@dataclass
class _Stream:
    """An open ``COPY`` of a pass, in its savepoint, and what it holds (for the fallback)."""

    scope: ExitStack
    copy: Any
    pieces: list[bytes] = field(default_factory=list)
    runs: Counter[str] = field(default_factory=Counter)
    records: int = 0
    conflict: bool = False


class PostgresRatedCallWriter:
    """RAT: cost records into PostgreSQL by binary ``COPY``, in the connection's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.texts = RatedCallTexts()  # the reader's memo of instants: unused by the binary form
        self._binary = RatedCallBinary()
        self._stream: _Stream | None = None
        self._new: Counter[str] = Counter()  # new records by run, of the streams ended so far
        self._watching = False

    def prepare(self, calls: Sequence[RatedCall], rated_at: datetime) -> Encoded:
        """The binary COPY rows of ``calls`` in pieces, and how many records of each run (touches
        no connection)."""
        return tuple(self._pieces(calls, rated_at)), Counter(map(_RUN, calls))

    def write(self, calls: Sequence[RatedCall], rated_at: datetime, encoded: object) -> int:
        """Store ``calls`` (``encoded`` by ``prepare``, or None) now; return how many were new."""
        if not calls:
            return 0
        self.settle()
        pieces, _ = encoded if isinstance(encoded, tuple) else self.prepare(calls, rated_at)
        return self._copy(pieces)

    def stream(self, calls: Sequence[RatedCall], rated_at: datetime, encoded: object) -> None:
        """Send ``calls`` (``encoded`` by ``prepare``, or None) into the pass's open COPY (opened
        first if need be): stored by ``settle`` at the latest."""
        if not calls:
            return
        pieces, runs = encoded if isinstance(encoded, tuple) else self.prepare(calls, rated_at)
        stream = self._stream or self._open()
        stream.pieces += pieces
        stream.runs.update(runs)
        stream.records += len(calls)
        if not stream.conflict:
            try:
                for piece in pieces:
                    stream.copy.write(piece)
            except psycopg_errors.UniqueViolation:
                stream.conflict = True  # the server refused the COPY already: settled below
        if stream.conflict or stream.records >= STREAM_RECORDS:
            self.settle()

    def settle(self) -> None:
        """End the open COPY, if any: what it holds is stored, through the staging table if a
        record was already there."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        raw: Any = self._connection.connection.driver_connection
        try:
            if not stream.conflict:
                stream.copy.write(TRAILER)
            stream.scope.close()
        except psycopg_errors.UniqueViolation:
            stream.conflict = True
        if stream.conflict:
            with raw.cursor() as cursor:
                cursor.execute("ROLLBACK TO SAVEPOINT rated_copy")
            new: Counter[str] | dict[str, int] = self._staged(stream.pieces)
        else:
            new = stream.runs
        with raw.cursor() as cursor:
            cursor.execute("RELEASE SAVEPOINT rated_copy")
        self._new.update(new)

    def stored(self) -> dict[str, int]:
        """The pass stored everything: end its stream; return the new records it streamed, by run
        (nothing was set aside: dropping the uninvoiced index would lock readers out of
        ``rated_calls`` for the pass)."""
        self.settle()
        new, self._new = dict(self._new), Counter()
        return new

    def _open(self) -> _Stream:
        if not self._watching:  # any other statement, a commit, a rollback: the stream ends first
            event.listen(self._connection, "before_cursor_execute", self._before_statement)
            event.listen(self._connection, "commit", self._before_commit)
            event.listen(self._connection, "rollback", self._before_rollback)
            self._watching = True
        raw: Any = self._connection.connection.driver_connection
        with ExitStack() as scope:
            cursor = scope.enter_context(raw.cursor())
            cursor.execute("SAVEPOINT rated_copy")
            copy = scope.enter_context(cursor.copy(_COPY))
            copy.write(HEADER)
            self._stream = _Stream(scope.pop_all(), copy)
        return self._stream

    def _before_statement(self, *_: object, **__: object) -> None:
        self.settle()

    def _before_commit(self, _: object) -> None:
        self.settle()

    def _before_rollback(self, _: object) -> None:
        """The transaction is rolled back: the open COPY is abandoned (the server drops it)."""
        stream, self._stream = self._stream, None
        self._new = Counter()
        if stream is not None:
            with suppress(Exception):  # the server's answer to an abandoned COPY: rolled back next
                stream.scope.__exit__(_Abandoned, _Abandoned(), None)

    def _copy(self, pieces: Sequence[bytes]) -> int:
        """COPY ``pieces`` straight into ``rated_calls``, in one savepoint, a piece at a time: the
        server stores one while the next is sent. If a call is already there, COPY into a staging
        table and ``INSERT ... ON CONFLICT DO NOTHING``."""
        raw: Any = self._connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute("SAVEPOINT rated_copy")
            try:
                with cursor.copy(_COPY) as copy:
                    _send(copy, pieces)
                copied = int(cursor.rowcount)
            except psycopg_errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT rated_copy")
            else:
                cursor.execute("RELEASE SAVEPOINT rated_copy")
                return copied
            inserted = sum(self._staged(pieces).values())
            cursor.execute("RELEASE SAVEPOINT rated_copy")
        return inserted

    def _staged(self, pieces: Sequence[bytes]) -> dict[str, int]:
        """COPY ``pieces`` into the staging table, then into ``rated_calls`` but for the records
        already there; return how many were new, by run."""
        raw: Any = self._connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(_STAGE)
            with cursor.copy(f"COPY rated_calls_stage ({_COLUMNS}) FROM STDIN (FORMAT binary)") as copy:
                _send(copy, pieces)
            new = {run: int(count) for run, count in cursor.execute(_INSERT_STAGED)}
            cursor.execute("TRUNCATE rated_calls_stage")
        return new

    def _pieces(self, calls: Sequence[RatedCall], rated_at: datetime) -> Iterator[bytes]:
        """The binary COPY rows of ``calls``, ``COPY_CHUNK`` records a piece (no header or trailer)."""
        encode = self._binary.rows
        for chunk in chunks(calls, COPY_CHUNK):
            yield encode(chunk, rated_at)


def _send(copy: Any, pieces: Sequence[bytes]) -> None:
    """A whole binary COPY: its header, ``pieces`` a piece at a time (the server stores one while
    the next is sent), its trailer."""
    copy.write(HEADER)
    for piece in pieces:
        copy.write(piece)
    copy.write(TRAILER)


class _Abandoned(Exception):
    """What ends the open COPY of a pass that is rolled back."""
