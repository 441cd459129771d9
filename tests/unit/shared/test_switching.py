"""The thread switch interval is lowered for a bulk job and restored once the last overlapping job ends."""

from __future__ import annotations

import sys
import threading

import pytest

from nuage.shared.switching import JOB_SWITCH_INTERVAL, switch_often


def test_lowered_inside_and_restored_after_even_when_the_job_fails() -> None:
    before = sys.getswitchinterval()
    seen: list[float] = []

    def failing_job() -> None:
        with switch_often():
            seen.append(sys.getswitchinterval())
            raise RuntimeError("the job failed")

    with pytest.raises(RuntimeError):
        failing_job()
    assert seen == [pytest.approx(min(before, JOB_SWITCH_INTERVAL))]
    assert sys.getswitchinterval() == before


def test_overlapping_jobs_restore_it_only_when_the_last_ends() -> None:
    before = sys.getswitchinterval()
    first_inside = threading.Event()
    second_done = threading.Event()
    seen: list[float] = []

    def first() -> None:
        with switch_often():
            first_inside.set()
            second_done.wait(10)
            seen.append(sys.getswitchinterval())  # the second job ended meanwhile: still lowered

    thread = threading.Thread(target=first)
    thread.start()
    assert first_inside.wait(10)
    with switch_often():
        assert sys.getswitchinterval() == pytest.approx(JOB_SWITCH_INTERVAL)
    second_done.set()
    thread.join(10)
    assert seen == [pytest.approx(JOB_SWITCH_INTERVAL)]
    assert sys.getswitchinterval() == before


def test_an_interval_already_shorter_is_never_raised() -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(JOB_SWITCH_INTERVAL / 4)
    try:
        with switch_often():
            assert sys.getswitchinterval() == pytest.approx(JOB_SWITCH_INTERVAL / 4)
        assert sys.getswitchinterval() == pytest.approx(JOB_SWITCH_INTERVAL / 4)
    finally:
        sys.setswitchinterval(before)
