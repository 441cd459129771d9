"""``nuage billing`` as a new user runs the demo month, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
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


@pytest.mark.parametrize(
    "command",
    [["billing"], ["billing", "count"], ["billing", "run"], ["billing", "show"], ["billing", "rate"]],
)
def test_every_billing_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    if len(command) > 1:
        assert "--data-dir" in result.output


@pytest.mark.rule("BIL-9")
@pytest.mark.rule("BIL-10")
@pytest.mark.rule("CNT-1")
def test_the_demo_month_from_the_command_line(platform: Platform, tmp_path: Path) -> None:
    target = _target(platform)
    platform.close()  # the CLI opens its own engine on the same database
    _ok(["demo", *target])
    counted = _ok(["billing", "count", "--month", "2026-01", *target])
    assert "2026-01: 3 summaries frozen, 0 already frozen, 0 not in service" in counted
    assert "already frozen" in _ok(["billing", "count", "--month", "2026-01", *target])
    csv_file = tmp_path / "demo-cdrs.csv"
    assert "wrote 10 CDRs" in _ok(["billing", "demo-cdrs", "--out", str(csv_file), *target])
    assert "imported 10 CDRs, 0 already imported, 0 errors" in _ok(
        ["billing", "import-cdrs", str(csv_file), *target]
    )
    assert "imported 0 CDRs, 10 already imported" in _ok(["billing", "import-cdrs", str(csv_file), *target])
    rated = _ok(["billing", "rate", *target])
    assert "rated 10 pending CDRs (customer-retail: 10, partner-wholesale: 5); 0 could not be priced" in rated
    ran = _ok(["billing", "run", "--period", "2026-01", "--run-on", "2026-01-28", *target])
    assert "2026-01: 3 invoices issued, 0 parties already billed" in ran
    assert "0 invoices issued, 3 parties already billed" in _ok(
        ["billing", "run", "--period", "2026-01", *target]
    )
    listed = _ok(["billing", "invoices", "--period", "2026-01", *target])
    assert "Atelier Dupont" in listed
    # ``nuage demo`` also gives Atelier Dupont its auto-attendant's number: 3 national numbers, where
    # the billing scenarios' demo (102.03 EUR) has 2
    assert "    106.17 EUR" in listed  # in cents on both databases (not 106.1700)
    assert "3 documents" in listed
    shown = _ok(["billing", "show", "INV-2026-000001", *target])
    assert "INVOICE INV-2026-000001" in shown
    assert "BIL-3" in shown
    assert "sources: rated-call:imp_" in shown
    assert "monthly-summary:" in shown
    assert "VAT 21% on 87.74 EUR: 18.43 EUR (standard)" in shown
    assert "Total due:             106.17 EUR" in shown
    voided = _ok(["billing", "void", "INV-2026-000001", *target])
    assert "voided by CN-2026-000001" in voided
    assert "VOIDED by credit note CN-2026-000001" in _ok(["billing", "show", "INV-2026-000001", *target])
    missing = runner.invoke(app, ["billing", "show", "INV-2026-999999", *target])
    assert missing.exit_code == 2
    assert "not-found" in missing.output


def test_a_bad_month_and_a_missing_file_are_reported(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    bad = runner.invoke(app, ["billing", "count", "--month", "2026-13", *data])
    assert bad.exit_code == 2
    missing = runner.invoke(app, ["billing", "import-cdrs", str(tmp_path / "nope.csv"), *data])
    assert missing.exit_code == 2
    assert "no such file" in missing.output


@pytest.mark.rule("SIP-1")
def test_an_import_with_a_refused_row_keeps_the_good_rows_and_exits_non_zero(
    platform: Platform, tmp_path: Path
) -> None:
    target = _target(platform)
    platform.close()
    _ok(["demo", *target])
    csv_file = tmp_path / "demo-cdrs.csv"
    _ok(["billing", "demo-cdrs", "--out", str(csv_file), *target])
    header, first, *_ = csv_file.read_text().splitlines()
    broken = first.split(",")
    broken[0], broken[1] = "bad-row-1", "no-such-account"
    csv_file.write_text("\n".join([header, first, ",".join(broken)]) + "\n")
    result = runner.invoke(app, ["billing", "import-cdrs", str(csv_file), *target])
    assert result.exit_code == 1
    assert "imported 1 CDRs, 0 already imported, 1 errors" in result.output
    assert "1 rows were refused and not imported" in result.output
    again = runner.invoke(app, ["billing", "import-cdrs", str(csv_file), *target])
    assert again.exit_code == 1
    assert "imported 0 CDRs, 1 already imported, 1 errors" in again.output


@pytest.mark.rule("CNT-1")
def test_verify_reports_the_chains_and_a_broken_one_stops_the_run(platform: Platform) -> None:
    target = _target(platform)
    engine = platform.engine
    _ok(["demo", *target])
    _ok(["billing", "count", "--month", "2026-01", *target])
    verified = _ok(["billing", "verify", *target])
    assert "3 summaries: 0 broken chains" in verified
    with platform.uow() as uow:
        dupont = uow.parties.find_by(name="Atelier Dupont")
    assert dupont is not None
    assert "2026-01  billable_users=" in _ok(["billing", "summaries", "--account", dupont.id, *target])
    with engine.begin() as connection:  # what someone holding the database's keys could do
        if engine.dialect.name == "postgresql":  # triggers off for this transaction only
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:  # the test's own file
            connection.execute(text("DROP TRIGGER monthly_summaries_no_update"))
        connection.execute(
            text("UPDATE monthly_summaries SET items = :items WHERE account_id = :a"),
            {"items": '{"billable_users": "1"}', "a": dupont.id},
        )
    platform.close()
    broken = runner.invoke(app, ["billing", "verify", *target])
    assert broken.exit_code == 1
    assert f"{dupont.id}  BROKEN at 2026-01: content does not match its hash" in broken.output
    run = runner.invoke(app, ["billing", "run", "--period", "2026-01", *target])
    assert run.exit_code == 2
    assert "CNT-1" in run.output
    assert "Nothing was issued" in run.output


@pytest.mark.rule("BIL-2")
@pytest.mark.rule("BIL-9")
def test_a_dry_run_from_the_command_line_issues_nothing_and_nonsense_is_refused(
    platform: Platform,
) -> None:
    target = _target(platform)
    platform.close()
    _ok(["demo", *target])
    _ok(["billing", "count", "--month", "2026-01", *target])
    dry = _ok(["billing", "run", "--period", "2026-01", "--run-on", "2026-01-28", "--dry-run", *target])
    assert (
        "2026-01 (dry run): 3 invoices would be issued, 0 parties already billed; nothing was issued" in dry
    )
    assert dry.count("would issue") == 3
    assert "3 invoices issued" in _ok(
        ["billing", "run", "--period", "2026-01", "--run-on", "2026-01-28", *target]
    )
    for args, expected in (
        (["--period", "2485-01"], "period-not-closed (BIL-2)"),
        (["--period", "2026-01", "--run-on", "2026-01-27"], "run-date-refused (BIL-4)"),
    ):
        refused = runner.invoke(app, ["billing", "run", *args, *target])
        assert refused.exit_code == 2, refused.output
        assert expected in refused.output
