"""SQLite's writer of a large rating pass in a process of its own (RAT, issue #22).

SQLite's library runs in the process that calls it, holding the interpreter lock for each row it
binds: in one process, a pass reads, prices, encodes and inserts one after the other. Here the
pass's transaction lives in a child process (``python -m`` this module, on the same database
file): the child takes the job's lock, inserts what the parent sends and commits when told, while
the parent reads and prices the next batch on the other core. The child uses this package's own
store (``SqlBillingStore`` on its own connection): the same statements, the same uninvoiced index
set aside during the pass and rebuilt before the commit, the same pack balances.

Messages go both ways on the child's standard input and output as frames: an 8-byte length, then
``marshal`` data (tuples of text, numbers and lists: the records as ``SqliteRatedCallWriter.prepare``
encodes them). The parent waits for an answer only to take the lock, to read pack balances and to
commit; a batch is queued for a sending thread and the parent goes on (a few batches ahead at
most: then it waits for the child). The child commits only when told: if the parent stops or dies
first, the child reads the end of its input and rolls back. A failure in the child is sent back
(the exception, pickled) and raised in the parent at its next call.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, NoReturn

from nuage.rating.packs import PackBalance

if TYPE_CHECKING:
    from nuage.services.billing.ports import PreparedRatedCalls
    from nuage.storage.sql.billing.store import SqlBillingStore

Stored = dict[str, int]  # new cost records by run
BalanceRow = tuple[str, int, str]  # a pack balance as a frame carries it: id, seconds, amount as text
_LENGTH = struct.Struct("<Q")
_MAX_FRAME = 1 << 31  # a frame longer than this is not one of ours
_FRAMES_AHEAD = 4  # batches queued for the child before the pass waits for it
_EXIT_S = 60.0  # how long a child that was told to stop may take to roll back


class PassProcessFailed(RuntimeError):
    """The pass's writing process stopped without saying why (killed, or crashed)."""


def _frame(message: tuple[Any, ...]) -> bytes:
    """``message`` as one frame: its length, then its ``marshal`` data."""
    data = marshal.dumps(message)
    return _LENGTH.pack(len(data)) + data


def _write(stream: IO[bytes], message: tuple[Any, ...]) -> None:
    stream.write(_frame(message))
    stream.flush()


def _balance_rows(balances: Iterable[PackBalance]) -> list[BalanceRow]:
    """RAT-3: pack balances as frames carry them (``marshal`` has no ``Decimal``)."""
    return [(b.pack_id, b.used_seconds, str(b.used_amount)) for b in balances]


def _balances(rows: Iterable[BalanceRow]) -> list[PackBalance]:
    """RAT-3: the pack balances ``_balance_rows`` gave."""
    return [PackBalance(pack_id, seconds, Decimal(amount)) for pack_id, seconds, amount in rows]


def _read(stream: IO[bytes]) -> tuple[Any, ...] | None:
    """The next message, or None at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    if length > _MAX_FRAME:
        raise PassProcessFailed(f"a frame of {length} bytes from the pass's other process")
    data = stream.read(length)
    if len(data) < length:
        return None
    message = marshal.loads(data)
    if not isinstance(message, tuple) or not message:
        raise PassProcessFailed("a frame that is not a message")
    return message


class SqlitePassProcess:
    """``RatingPassWriter``: the pass's transaction in a child process on the SQLite file ``url``."""

    def __init__(self, url: str, job: str) -> None:
        self._job = job
        self._done: Future[None] = Future()
        self._done.set_result(None)
        self._child = subprocess.Popen(
            [sys.executable, "-m", __name__, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        # Frames go to the child from a thread of their own (writing to a pipe releases the
        # interpreter lock): the pass prices its next batch while the child still reads the last.
        self._frames: queue.Queue[bytes | None] = queue.Queue(_FRAMES_AHEAD)
        self._broken = False
        self._sender = threading.Thread(target=self._send_frames, name="nuage-rating-pass", daemon=True)
        self._sender.start()

    def _send_frames(self) -> None:
        stdin = self._child.stdin
        assert stdin is not None
        while (frame := self._frames.get()) is not None:
            try:
                stdin.write(frame)
                stdin.flush()
            except (OSError, ValueError):  # the child stopped: its last word says why
                self._broken = True
                while self._frames.get() is not None:
                    pass  # nothing more to send: keep ``_send`` from waiting on a full queue
                break
        with contextlib.suppress(OSError, ValueError):
            stdin.close()  # without a commit before it, the child rolls back

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._broken:
            self._raise_failure()
        self._frames.put(_frame(message))

    def _answer(self, kind: str) -> tuple[Any, ...]:
        stdout = self._child.stdout
        assert stdout is not None
        message = _read(stdout)
        if message is None or message[0] == "error":
            self._raise_failure(message)
        if message[0] != kind:
            raise PassProcessFailed(f"the pass's other process answered {message[0]!r}, not {kind!r}")
        return message

    def _raise_failure(self, message: tuple[Any, ...] | None = None) -> NoReturn:
        if message is None and self._child.stdout is not None:
            try:
                message = _read(self._child.stdout)
            except (OSError, ValueError, EOFError):
                message = None
        code = self._child.wait(_EXIT_S)
        if message is not None and message[0] == "error":
            _, pickled, text = message
            try:
                error = pickle.loads(pickled)
            except Exception:
                raise PassProcessFailed(text) from None
            raise error
        raise PassProcessFailed(f"the pass's writing process stopped (exit status {code})")

    def begin(self) -> None:
        self._send(("lock", self._job))
        self._answer("locked")

    def pack_balances(self, run: str, pack_ids: Sequence[str]) -> dict[str, PackBalance]:
        self._send(("balances", run, list(pack_ids)))
        (_, rows) = self._answer("balances")
        return {balance.pack_id: balance for balance in _balances(rows)}

    def stream(self, prepared: PreparedRatedCalls) -> Future[None]:
        calls, _, encoded = prepared
        if calls:
            self._send(("stream", len(calls), encoded))
        return self._done

    def save_pack_balances(self, run: str, balances: Sequence[PackBalance], at: datetime) -> None:
        self._send(("save", run, _balance_rows(balances), at.isoformat()))

    def commit(self) -> Stored:
        self._send(("commit",))
        (_, stored) = self._answer("stored")
        return dict(stored)

    def close(self) -> None:
        """Stop sending (what is still queued is dropped unless the pass committed), close the
        child's input (without a commit it rolls back) and wait for it to end."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._frames.get_nowait()
        self._frames.put(None)
        self._sender.join()
        child = self._child
        if child.stdout is not None:
            child.stdout.close()
        try:
            child.wait(_EXIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def serve(url: str, incoming: IO[bytes], outgoing: IO[bytes]) -> int:
    """The child: one transaction on ``url`` doing what the parent sends, until it commits or the
    input ends (rolled back). Returns the exit status."""
    # the child's own imports (the parent has them already): the store and an engine, no more
    from sqlalchemy.exc import DBAPIError

    from nuage.storage.sql.billing.store import SqlBillingStore
    from nuage.storage.sql.engine import make_engine
    from nuage.storage.sql.errors import translated

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.begin()
            try:
                store = SqlBillingStore(connection)
                while (message := _read(incoming)) is not None:
                    stored = _serve_one(store, message, outgoing)
                    if stored is not None:
                        connection.commit()
                        _write(outgoing, ("stored", stored))
                        return 0
            except DBAPIError as error:
                raise (translated(error) or error) from error
        return 0  # the parent stopped first: leaving the connection rolled everything back
    except Exception as error:
        try:
            pickled = pickle.dumps(error)
        except Exception:
            pickled = b""
        with contextlib.suppress(BrokenPipeError, ValueError):  # else the parent is gone: nobody to tell
            _write(outgoing, ("error", pickled, f"{type(error).__name__}: {error}"))
        return 1
    finally:
        engine.dispose()


def _serve_one(store: SqlBillingStore, message: tuple[Any, ...], outgoing: IO[bytes]) -> Stored | None:
    """Do what ``message`` asks of the pass's store; when it asks to commit, the store has
    stored everything: the new records by run (the caller commits)."""
    kind = message[0]
    if kind == "stream":
        store.stream_encoded_rated_calls(message[1], message[2])
    elif kind == "lock":
        store.lock(message[1])
        _write(outgoing, ("locked",))
    elif kind == "balances":
        found = store.pack_balances(message[1], message[2])
        _write(outgoing, ("balances", _balance_rows(found.values())))
    elif kind == "save":
        _, run, rows, at = message
        store.save_pack_balances(run, _balances(rows), datetime.fromisoformat(at))
    elif kind == "commit":
        return store.rating_stored()
    else:
        raise PassProcessFailed(f"unknown message {kind!r}")
    return None


def main() -> int:
    """The child's entry point: frames on the standard output, anything printed goes to stderr.
    An interrupt from the terminal is the parent's to handle (it closes our input: rolled back)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    frames = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with frames:
        return serve(sys.argv[1], sys.stdin.buffer, frames)


if __name__ == "__main__":
    sys.exit(main())
