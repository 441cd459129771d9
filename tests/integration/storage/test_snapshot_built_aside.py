"""A process that froze its start-up heap (as ``nuage serve``'s SIP runtime does) builds a whole
snapshot with the cyclic collector paused and has the new snapshot frozen; any other process's
collector is left alone. Each case runs in a process of its own: freezing is process-wide."""

from __future__ import annotations

import subprocess
import sys

BUILD = """
import gc, sys
from nuage.storage.sql.snapshots import built_aside
if sys.argv[1] == "frozen":
    gc.freeze()
before = gc.get_freeze_count()
with built_aside():
    assert gc.isenabled() == (sys.argv[1] == "plain")
    made = [[n] for n in range(50_000)]  # lists: tracked by the collector
print(gc.isenabled(), gc.get_freeze_count() - before >= 50_000)
"""


def _run(mode: str) -> str:
    done = subprocess.run([sys.executable, "-c", BUILD, mode], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_what_a_whole_build_makes_is_frozen_where_the_start_up_heap_was() -> None:
    assert _run("frozen") == "True True"  # collector back on; what was made is out of its walks


def test_elsewhere_the_collector_is_left_alone_and_nothing_is_frozen() -> None:
    assert _run("plain") == "True False"
