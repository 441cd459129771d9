"""The tests' free ports: workers of a parallel run never hand out the same port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netports import GUARD, port_slice, worker_share

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
