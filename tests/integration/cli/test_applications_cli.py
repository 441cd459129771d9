"""``nuage demo`` loads the demo auto-attendant; ``nuage schedules``, ``menus`` and ``conferences``
show and change them from the command line."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from nuage.cli import app

runner = CliRunner()


def test_the_demo_attendant_from_the_command_line(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    demo = runner.invoke(app, ["demo", *data])
    assert demo.exit_code == 0, demo.output
    assert "auto-attendant: dial +3223000150" in demo.output
    assert "extension 800 (PIN 4321" in demo.output
    dupont = re.search(r"customer\s+Atelier Dupont\s+(\S+)", demo.output)
    assert dupont is not None
    account = dupont.group(1)
    schedules = runner.invoke(app, ["schedules", "list", account, *data])
    assert schedules.exit_code == 0, schedules.output
    assert "Office hours: mon 08:30-18:00" in schedules.output
    schedule_id = schedules.output.split()[0]
    holiday = runner.invoke(
        app, ["schedules", "now", schedule_id, "--at", "2026-07-21T10:00:00+02:00", *data]
    )
    assert holiday.output.startswith("holiday (National Day) -> menu:"), holiday.output
    opened = runner.invoke(app, ["schedules", "now", schedule_id, "--at", "2026-07-22T10:00:00+02:00", *data])
    assert opened.output.startswith("open -> menu:"), opened.output
    naive = runner.invoke(app, ["schedules", "now", schedule_id, "--at", "2026-07-22T10:00:00", *data])
    assert naive.exit_code == 2
    menus = runner.invoke(app, ["menus", "list", account, *data])
    assert "Reception (en, default:welcome): 0 -> hangup, 1 -> conference:" in menus.output
    added = runner.invoke(app, ["menus", "add", account, "Sales", "--option", "1=extension:211", *data])
    assert added.exit_code == 0, added.output
    refused = runner.invoke(app, ["menus", "add", account, "Bad", "--option", "1=extension:999", *data])
    assert refused.exit_code == 2
    assert "No user, ring group or conference room has extension 999" in refused.output
    again = runner.invoke(app, ["demo", *data])
    assert again.exit_code == 0
    assert runner.invoke(app, ["menus", "list", account, *data]).output.count("Reception") == 1
