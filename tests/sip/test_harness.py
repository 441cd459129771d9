"""The SIPp runner of the tests: a run cancelled before its end (its test failed first) leaves no
SIPp behind, nor pipes that a later test's loop would meet when they are collected."""

from __future__ import annotations

import asyncio

import pytest

from netports import free_port
from sip.harness import needs_sipp, run_sipp, sipp_listening, udp_port_bound


@needs_sipp
async def test_a_sipp_run_cancelled_before_its_end_leaves_no_process_behind() -> None:
    port = free_port()  # a phone waiting for a call that never comes: it runs until cancelled
    task = asyncio.create_task(run_sipp("uas_answer.xml", "", port=port, args=("-m", "1")))
    await sipp_listening(task, port)
    assert udp_port_bound(port)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not udp_port_bound(port)  # killed and reaped before the cancellation went on
