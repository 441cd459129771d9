"""Random hex for branches, tags and nonce salts: one read of the system's source per 512 values,
each value handed out once, across threads and across a fork (issue #22)."""

from __future__ import annotations

import os
import re
import threading
import warnings

from nuage.sip.identifiers import MAGIC_COOKIE, new_branch, new_tag, random_hex16

HEX16 = re.compile(r"[0-9a-f]{16}")


def test_values_are_64_bit_hex_and_never_repeat_across_many_refills() -> None:
    values = [random_hex16() for _ in range(20_000)]  # about 40 reads of 4 KiB
    assert all(HEX16.fullmatch(value) for value in values)
    assert len(set(values)) == len(values)


def test_branches_and_tags_take_their_randomness_from_the_pool() -> None:
    branches = [new_branch() for _ in range(2_000)]
    tags = [new_tag() for _ in range(2_000)]
    assert all(b.startswith(MAGIC_COOKIE) and HEX16.fullmatch(b[len(MAGIC_COOKIE) :]) for b in branches)
    assert all(re.fullmatch(r"[0-9a-f]{12}", tag) for tag in tags)
    assert len(set(branches)) == len(branches)
    assert len(set(tags)) == len(tags)


def test_threads_drawing_at_once_never_receive_the_same_value() -> None:
    drawn: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def draw(into: list[str]) -> None:
        start.wait()
        into.extend(random_hex16() for _ in range(5_000))

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [value for values in drawn for value in values]
    assert len(every) == 20_000
    assert len(set(every)) == len(every)


def test_a_forked_child_does_not_repeat_its_parents_next_values() -> None:
    random_hex16()  # the pool now holds values not yet handed out
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of fork() beside threads (the test's pool)
        warnings.filterwarnings("ignore", ".*fork", DeprecationWarning)
        child = os.fork()
    if child == 0:  # the child: report its next values, then leave without running pytest's exit
        os.close(read_end)
        os.write(write_end, "".join(random_hex16() for _ in range(100)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(child, 0)
    in_child = {text[at : at + 16] for at in range(0, len(text), 16)}
    in_parent = {random_hex16() for _ in range(100)}
    assert len(in_child) == 100
    assert not in_child & in_parent
