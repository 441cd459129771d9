"""The portal's billing runs are kept in storage (SQLite and PostgreSQL): another web process lists
them with their progress, and a run whose process ended shows as interrupted, blocking no new run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuage.bootstrap import Platform
from nuage.services.security.ports import PortalJob
from nuage.web.app import create_app
from nuage.web.portal.billing_runs import KIND, STALE, RunJobs


def _jobs(platform: Platform) -> RunJobs:
    """The billing runs as a fresh web process of this platform sees them."""
    return RunJobs(create_app(platform).state.portal)


@pytest.mark.rule("BIL-9")
def test_a_stored_run_is_seen_by_another_process_until_it_stops_moving(platform: Platform) -> None:
    now = platform.clock.now()
    job = PortalJob(
        "run_0123456789abcdef", KIND, "2026-02", False, now, "Olivia", done=3, total=8, moved_at=now
    )
    with platform.uow() as uow:
        uow.security.jobs.add(job)
        uow.commit()
    with platform.api_uow() as uow:
        (seen,) = _jobs(platform).listed(uow)
    assert (seen.period, seen.done, seen.total, seen.running, seen.interrupted) == (
        "2026-02",
        3,
        8,
        True,
        False,
    )

    platform.clock.advance(STALE + timedelta(seconds=1))  # its process ended: the progress stopped
    with platform.api_uow() as uow:
        (stale,) = _jobs(platform).listed(uow)
    assert (stale.running, stale.interrupted) == (False, True)
    assert stale.refused is not None
    assert "interrupted" in stale.refused.message


@pytest.mark.rule("BIL-9")
def test_an_ended_run_keeps_its_report(platform: Platform) -> None:
    now = platform.clock.now()
    report = {"invoices": 4, "drafts": 0, "already_billed": 1, "suspended_customers": [], "refused": []}
    job = PortalJob("run_89abcdef01234567", KIND, "2026-02", False, now, "Olivia", 8, 8, now, now, report)
    with platform.uow() as uow:
        uow.security.jobs.add(job)
        uow.commit()
    with platform.api_uow() as uow:
        found = _jobs(platform).find(uow, job.id)
    assert (found.running, found.interrupted, found.report) == (False, False, report)
