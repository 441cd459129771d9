"""``nuage tariffs`` and ``nuage plans`` as an operator runs them: list, import a CSV (refused whole
with a per-row report, then published), publish a price-list version, assign it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuage.bootstrap import Platform
from nuage.cli import app
from nuage.tenancy.model import PartyKind

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.rule("RAT-2")
@pytest.mark.rule("BIL-2")
def test_tariffs_and_plans_from_the_cli(platform: Platform, tmp_path: Path) -> None:
    url = platform.settings.database_url
    target = ["--data-dir", str(platform.settings.data_dir)] + (["--database-url", url] if url else [])
    _ok(["demo", *target])
    with platform.uow() as uow:
        dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
    assert dupont is not None
    platform.close()
    listed = _ok(["tariffs", "list", "--run", "customer-retail", *target])
    assert "customer-retail: 1 version(s)" in listed
    assert "open-ended (RAT-2)" in listed
    bad = tmp_path / "bad.csv"
    bad.write_text("prefix,description,per_minute,minimum,connection_fee\n32,BE,0.02,0,0\n+33,FR,0.03,0,0\n")
    refused = runner.invoke(app, ["tariffs", "import", "--version", "v2", "--csv", str(bad), *target])
    assert refused.exit_code == 1
    assert "row 3, prefix: not 1 to 15 digits" in refused.output
    assert "nothing published (RAT-2)" in refused.output
    assert "1 version(s)" in _ok(["tariffs", "list", *target])
    good = tmp_path / "good.csv"
    good.write_text("prefix,description,per_minute,minimum,connection_fee\n3,Europe,0.05,0.02,0.01\n")
    # the CLI's clock is the system's: a day far ahead is always later than now
    imported = _ok(
        [
            "tariffs",
            "import",
            "--version",
            "v2",
            "--csv",
            str(good),
            "--effective-from",
            "2099-01-01",
            *target,
        ]
    )
    assert "published customer-retail v2: 1 prefixes" in imported
    shown = _ok(["tariffs", "list", "--rates", *target])
    assert "until 2098-12-31T23:00:00+00:00" in shown  # the previous version, closed automatically
    assert "3               0.05/min, minimum 0.02, connection 0.01  Europe" in shown
    past = runner.invoke(app, ["tariffs", "import", "--version", "v3", "--csv", str(good),
                               "--effective-from", "2020-01-01", *target])  # fmt: skip
    assert past.exit_code == 2
    assert "(RAT-2)" in past.output
    bad_day = runner.invoke(app, ["tariffs", "import", "--version", "v3", "--csv", str(good),
                                  "--effective-from", "01/03", *target])  # fmt: skip
    assert "not a date (YYYY-MM-DD)" in bad_day.output
    published = _ok(
        ["plans", "publish", "--plan", "premium", "--version", "premium-1", "--valid-from", "2099-01-01",
         "--copy-from", "business", "--price", "billable_users=19.50", "--one-time", "activation=50",
         "--capacity-reading", "graduated", "--interest-reading", "per-day", *target]
    )  # fmt: skip
    assert "capacity reading graduated (CAP-1), interest per-day (PAY-2)" in published
    assert "billable_users: per_unit 19.50 (BIL-2)" in published
    assert f"{dupont.id} is billed with plan premium (BIL-2)" in _ok(
        ["plans", "assign", "--party", dupont.id, "--plan", "premium", *target]
    )
    plans = _ok(["plans", "list", *target])
    assert "plan premium" in plans
    assert f"{dupont.id} is billed with premium" in plans
    sheep = ["plans", "publish", "--plan", "x", "--version", "x", "--valid-from", "2099-01-01",
             "--copy-from", "business", "--price", "sheep=1"]  # fmt: skip
    unknown = runner.invoke(app, [*sheep, *target])
    assert unknown.exit_code == 2
    assert "unknown item(s) sheep" in unknown.output
