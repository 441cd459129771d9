"""``nuage calls`` lists and exports the call records as an operator would, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuage.bootstrap import Platform
from nuage.cli import app

runner = CliRunner()


def _target(platform: Platform) -> list[str]:
    url = platform.settings.database_url
    return ["--data-dir", str(platform.settings.data_dir)] + (["--database-url", url] if url else [])


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.rule("SIP-1")
def test_the_operator_lists_pages_and_exports_call_records(platform: Platform, tmp_path: Path) -> None:
    target = _target(platform)
    platform.close()
    _ok(["demo", *target])
    cdrs = tmp_path / "demo-cdrs.csv"
    _ok(["billing", "demo-cdrs", "--out", str(cdrs), *target])
    _ok(["billing", "import-cdrs", str(cdrs), *target])
    _ok(["billing", "rate", *target])
    listed = _ok(["calls", "list", "--since", "2026-01-12", "--until", "2026-01-15", *target])
    assert "4 call records" in listed
    assert "2026-01-14 15:02:00  outbound" in listed  # Brussels time
    assert "+33142000000" in listed
    assert "0.40 EUR" in listed  # 300 s to France at 0.08/min
    first = _ok(["calls", "list", "--limit", "3", *target])
    assert "3 call records" in first
    cursor = first.rsplit("--cursor ", 1)[1].strip()
    second = _ok(["calls", "list", "--limit", "50", "--cursor", cursor, *target])
    assert "7 call records" in second
    assert "more:" not in second
    out = tmp_path / "calls.csv"
    assert f"wrote 10 call records to {out}" in _ok(["calls", "export", "--out", str(out), *target])
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 10
    assert {"amount_customer-retail", "amount_partner-wholesale"} <= set(rows[0])
    bad = runner.invoke(app, ["calls", "list", "--since", "12/01/2026", *target])
    assert bad.exit_code == 2
    assert "not a date (YYYY-MM-DD)" in bad.output
    wrong = runner.invoke(app, ["calls", "list", "--direction", "sideways", *target])
    assert wrong.exit_code == 2
    assert "direction is one of" in wrong.output
