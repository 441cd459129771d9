"""The streaming job helper (services.jobs): writes in order in one resource, reads ahead, failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from nuage.services.jobs import OrderedWriter, read_ahead


class _Journal:
    """A resource that records what was done to it, and on which thread."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.threads: set[str] = set()
        self.finished = False
        self.closed = False

    def add(self, entry: str) -> str:
        self.threads.add(threading.current_thread().name)
        self.entries.append(entry)
        return entry


def _writer(journal: _Journal, *, threaded: bool) -> OrderedWriter[_Journal]:
    def begin(scope: ExitStack) -> _Journal:
        scope.callback(lambda: setattr(journal, "closed", True))
        return journal

    def finish(resource: _Journal) -> None:
        resource.finished = True

    return OrderedWriter(begin, finish, threaded=threaded, name="test-writer")


@pytest.mark.parametrize("threaded", [False, True])
def test_writes_run_in_submission_order_then_finish_once(threaded: bool) -> None:
    journal = _Journal()
    writer = _writer(journal, threaded=threaded)
    futures = [writer.run(lambda j, n=n: j.add(f"w{n}")) for n in range(50)]
    writer.close(commit=True)
    assert [future.result() for future in futures] == [f"w{n}" for n in range(50)]
    assert journal.entries == [f"w{n}" for n in range(50)]
    assert journal.finished
    assert journal.closed
    expected = {"test-writer_0"} if threaded else {threading.current_thread().name}
    assert journal.threads == expected


@pytest.mark.parametrize("threaded", [False, True])
def test_after_a_failed_write_nothing_runs_and_the_resource_closes_unfinished(threaded: bool) -> None:
    journal = _Journal()
    writer = _writer(journal, threaded=threaded)

    def fail(_: _Journal) -> None:
        raise RuntimeError("disk full")

    writer.run(lambda j: j.add("before"))
    failed = writer.run(fail)
    after = writer.run(lambda j: j.add("after"))
    with pytest.raises(RuntimeError, match="disk full"):
        writer.close(commit=True)
    with pytest.raises(RuntimeError, match="disk full"):
        failed.result()
    with pytest.raises(RuntimeError, match="disk full"):
        after.result()
    assert journal.entries == ["before"]
    assert not journal.finished
    assert journal.closed


def test_a_writer_closed_without_commit_does_not_finish() -> None:
    journal = _Journal()
    writer = _writer(journal, threaded=True)
    writer.run(lambda j: j.add("w"))
    writer.close(commit=False)
    assert journal.entries == ["w"]
    assert not journal.finished
    assert journal.closed


@pytest.mark.parametrize("threaded", [False, True])
def test_read_ahead_yields_every_batch_in_order_and_closes_the_source_on_its_thread(threaded: bool) -> None:
    closed_on: list[str] = []

    def batches() -> Iterator[int]:
        try:
            yield from range(10)
        finally:
            closed_on.append(threading.current_thread().name)

    reader = read_ahead(batches(), threaded)
    seen = [next(reader) for _ in range(4)]
    reader.close()
    assert seen == [0, 1, 2, 3]
    assert len(closed_on) == 1
    assert (closed_on[0] != threading.current_thread().name) is threaded


def test_read_ahead_passes_a_read_failure_on() -> None:
    def batches() -> Iterator[int]:
        yield 1
        raise ValueError("broken cursor")

    reader = read_ahead(batches(), True)
    assert next(reader) == 1
    with pytest.raises(ValueError, match="broken cursor"):
        next(reader)
