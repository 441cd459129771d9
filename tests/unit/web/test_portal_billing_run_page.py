"""The page of a billing run while it runs: its progress, and the reload that follows it (BIL-9)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.services.billing.monthly_run import RunReport
from nuage.shared.month import Month
from nuage.web.portal import i18n
from nuage.web.portal.base import TEMPLATES, Brand
from nuage.web.portal.billing_runs import RunView, outcome_of


def _page(job: RunView, language: str) -> str:
    return TEMPLATES.get_template("billing_run.html").render(
        _=i18n.gettext(language),
        moment=lambda value: i18n.moment(value, language),
        language=language,
        languages=i18n.LANGUAGES,
        viewer=None,
        brand=Brand("Nuage"),
        csrf="token",
        csp_nonce="nonce",
        flash=(),
        path="/billing/runs/run-1",
        job=job,
        names={},
        refresh=2 if job.running else None,
    )


@pytest.mark.rule("BIL-9")
@pytest.mark.parametrize(
    ("language", "words"), [("en", "3 of 8 parties billed"), ("fr", "3 parties facturées sur 8")]
)
def test_a_running_run_shows_its_progress_and_reloads(language: str, words: str) -> None:
    started = datetime(2026, 2, 3, 8, tzinfo=UTC)
    job = RunView("run-1", "2026-01", False, started, "Olivia", 3, 8, True, False, None, None)
    html = _page(job, language)
    assert '<progress max="8" value="3">' in html
    assert words in html
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html  # without script
    assert 'data-live="/billing/runs/run-1/events"' in html  # with it: the run's events
    assert '<script src="/static/live.js" defer></script>' in html
    assert 'id="run-finished"' not in html


def test_an_ended_run_stops_reloading() -> None:
    report = outcome_of(RunReport(Month.parse("2026-01"), dry_run=True))
    started = datetime(2026, 2, 3, 8, tzinfo=UTC)
    job = RunView("run-1", "2026-01", True, started, "Olivia", 0, 0, False, False, report, None)
    html = _page(job, "en")
    assert 'id="run-finished"' in html
    assert "http-equiv" not in html
