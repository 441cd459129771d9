"""The cyclic collector is paused for a bulk job and restarted once the last overlapping job ends;
a large graph is freed piece by piece, off the event loop."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import weakref

import pytest

from nuage.shared.collector import collector_paused, release_gradually
from nuage.storage.sql.snapshots import RefreshedSnapshot


def test_paused_inside_and_restarted_after_even_when_the_job_fails() -> None:
    seen: list[bool] = []

    def failing_job() -> None:
        with collector_paused():
            seen.append(gc.isenabled())
            raise RuntimeError("the job failed")

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        failing_job()
    assert seen == [False]
    assert gc.isenabled()


def test_overlapping_jobs_restart_it_only_when_the_last_ends() -> None:
    first_inside = threading.Event()
    second_done = threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_inside.set()
            second_done.wait(10)
            seen.append(gc.isenabled())  # the second job ended meanwhile: still paused

    thread = threading.Thread(target=first)
    thread.start()
    assert first_inside.wait(10)
    with collector_paused():
        assert not gc.isenabled()
    second_done.set()
    thread.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


class Node:
    """A part of a large graph that notes, when freed, whether what it holds was still held
    elsewhere (by the walk) and on which thread it was freed."""

    __slots__ = ("children", "extra", "__weakref__")
    freed: list[tuple[int, int]] = []  # (fewest references among its children, thread)

    def __init__(self, children: list[object], extra: object = None) -> None:
        self.children = children
        self.extra = extra

    def __del__(self) -> None:
        counts = [sys.getrefcount(child) for child in self.children]
        Node.freed.append((min(counts, default=99), threading.get_ident()))


def graph(width: int) -> tuple[Node, list[weakref.ref[Node]]]:
    leaves = [Node([]) for _ in range(width)]
    middle = [Node([leaf], extra={"leaf": leaf, "pair": (leaf, [leaf])}) for leaf in leaves]
    root = Node([*middle], extra={i: node for i, node in enumerate(middle)})
    return root, [weakref.ref(node) for node in (root, *middle, *leaves)]


def test_a_released_graph_is_freed_whole_one_object_at_a_time() -> None:
    root, refs = graph(200)
    box: list[object] = [root]
    del root
    Node.freed.clear()
    taken = release_gradually(box)
    assert box == []
    assert all(ref() is None for ref in refs)
    assert taken >= len(refs)
    # whenever a node was freed, each of its children was still held by the walk as well (two
    # references besides getrefcount's own), so no free went on to free another node
    assert min(count for count, _ in Node.freed) >= 3


def test_what_is_still_referenced_elsewhere_is_left_whole() -> None:
    root, refs = graph(50)
    shared = root.extra  # another holder (a newer snapshot, say) keeps this dictionary
    before = dict(shared)
    box: list[object] = [root]
    del root
    release_gradually(box)
    assert refs[0]() is None  # the root went
    assert shared == before  # the shared part is untouched, and all it holds is alive
    assert all(ref() is not None for ref in refs[1:])


def test_a_whole_read_frees_the_replaced_value_off_the_loop() -> None:
    first_refs: list[weakref.ref[Node]] = []

    def load() -> Node:
        root, refs = graph(100)
        if not first_refs:
            first_refs.extend(refs)
        view.read_whole()
        return root

    view: RefreshedSnapshot[Node | None] = RefreshedSnapshot(load, None, name="test")

    async def main() -> int:
        await view.reload()
        Node.freed.clear()
        await view.reload()  # the first graph is replaced by the second
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert all(ref() is None for ref in first_refs)
    assert len(Node.freed) == len(first_refs)
    assert all(thread != loop_thread for _, thread in Node.freed)
    assert view.value is not None
    assert len(view.value.children) == 100
