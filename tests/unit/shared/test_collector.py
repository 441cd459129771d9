"""The cyclic collector is paused for a bulk job and restarted once the last overlapping job ends."""

from __future__ import annotations

import gc
import threading

import pytest

from nuage.shared.collector import collector_paused


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
