"""The tests' free ports: workers of a parallel run never hand out the same port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import netports
from netports import GUARD, STALE_AFTER, port_slice, worker_share

TESTS = Path(__file__).resolve().parents[1]


def test_a_process_outside_a_parallel_run_has_the_whole_range() -> None:
    assert worker_share({}) == (0, 1)
    assert worker_share({"PYTEST_XDIST_WORKER": "master"}) == (0, 1)
    assert worker_share({"PYTEST_XDIST_WORKER": "gw1", "PYTEST_XDIST_WORKER_COUNT": "3"}) == (1, 3)
    low, wide, end = port_slice((0, 1))
    assert (low, end - wide) == (10000, 3000)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 8])
def test_the_workers_slices_are_apart_and_keep_room_for_wide_blocks(count: int) -> None:
    slices = [port_slice((index, count)) for index in range(count)]
    for (_, _, end), (low, _, _) in zip(slices, slices[1:], strict=False):
        assert low - end >= GUARD  # a block at the top of one slice is not a neighbour of the next's
    for low, wide, end in slices:
        assert low < wide < end
        assert end - wide >= 401 + GUARD  # the widest block the tests ask for (a conference's ports)
        assert wide - low >= 1000


def test_two_workers_draw_ports_from_their_own_slices() -> None:
    """Two real processes, as pytest-xdist starts them, each taking many ports: none in common."""
    draw = (
        "import json, netports\n"
        "print(json.dumps([netports.free_port() for _ in range(150)]"
        " + [netports.free_port(span=200) for _ in range(3)]))"
    )
    drawn: list[set[int]] = []
    for worker in ("gw0", "gw1"):
        env = {**os.environ, "PYTHONPATH": str(TESTS)}
        env.update(PYTEST_XDIST_WORKER=worker, PYTEST_XDIST_WORKER_COUNT="2")
        command = [sys.executable, "-c", draw]
        out = subprocess.run(command, env=env, capture_output=True, check=True, timeout=60)
        drawn.append(set(json.loads(out.stdout)))
    assert len(drawn[0]) == len(drawn[1]) == 153
    assert not drawn[0] & drawn[1]
    for index, ports in enumerate(drawn):
        low, _, end = port_slice((index, 2))
        assert all(low <= port < end for port in ports)


def test_a_slice_used_up_hands_out_again_the_ports_of_ended_tests_that_nothing_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slice with room for two ports: once both are out, a third is refused until they are old
    enough to belong to ended tests; then ports are handed out again, never the one still bound."""
    lowest, _, _ = port_slice()
    clock = [1000.0]
    monkeypatch.setattr(netports, "_issued", {})
    monkeypatch.setattr(netports, "_now", lambda: clock[0])
    room = (lowest, lowest + 2 * GUARD + 3, lowest + 3 * GUARD + 4)  # ten single ports: two apart
    monkeypatch.setattr(netports, "port_slice", lambda: room)
    drawn = {netports.free_port(), netports.free_port()}
    assert len(drawn) == 2
    assert all(lowest <= port < lowest + 2 * GUARD + 2 for port in drawn)
    with pytest.raises(RuntimeError, match="no free port"):
        netports.free_port()
    held_port = min(drawn)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        held.bind(("127.0.0.1", held_port))
        clock[0] += STALE_AFTER / 2
        with pytest.raises(RuntimeError, match="no free port"):
            netports.free_port()  # not old enough: their tests may still be starting servers on them
        clock[0] += STALE_AFTER
        again = [netports.free_port()]
        while len(again) < 10:
            try:
                again.append(netports.free_port())
            except RuntimeError:  # those just handed out are new again: not forgotten
                break
        assert len(again) < 10
        assert held_port not in again
        assert all(lowest <= port < lowest + 2 * GUARD + 2 for port in again)


def test_a_port_browsers_refuse_to_load_pages_from_is_never_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chromium answers ``ERR_UNSAFE_PORT`` for a page on 10080: a slice whose only single port is
    10080 has none to give, the slice of its neighbour gives the neighbour, and no wide block
    drawn across it includes it."""
    monkeypatch.setattr(netports, "_issued", {})
    refused = min(netports.REFUSED_BY_BROWSERS)
    monkeypatch.setattr(netports, "port_slice", lambda: (refused, refused + 2, refused + 40))
    with pytest.raises(RuntimeError, match="no free port"):
        netports.free_port()
    monkeypatch.setattr(netports, "port_slice", lambda: (refused + 1, refused + 3, refused + 40))
    assert netports.free_port() == refused + 1
    monkeypatch.setattr(netports, "_issued", {})
    monkeypatch.setattr(netports, "port_slice", lambda: (refused - 30, refused - 12, refused + 12))
    for _ in range(20):
        block = netports.free_port(span=12)
        assert refused not in range(block, block + 12)
        netports.release(block, 12)
