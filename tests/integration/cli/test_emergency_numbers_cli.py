"""``nuage emergency-numbers``: the operator's list of emergency numbers from the command line (EMG-4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuage.cli import app

runner = CliRunner()


@pytest.mark.rule("EMG-4")
def test_the_operator_lists_adds_and_removes_emergency_numbers(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(app, ["demo", *data]).exit_code == 0
    added = runner.invoke(app, ["emergency-numbers", "add", "1733", "Doctor on duty", *data])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["emergency-numbers", "list", *data])
    assert [line.split()[0] for line in listed.output.splitlines()] == ["112", "100", "101", "1733"]
    assert "Doctor on duty" in listed.output
    built_in = runner.invoke(app, ["emergency-numbers", "remove", "112", *data])
    assert built_in.exit_code == 2
    assert "built-in emergency number" in built_in.output
    subscriber = runner.invoke(app, ["emergency-numbers", "add", "0475123456", "Not short", *data])
    assert subscriber.exit_code == 2
    assert "invalid-input (EMG-4)" in subscriber.output
    assert "not a short service number" in subscriber.output
    assert runner.invoke(app, ["emergency-numbers", "remove", "1733", *data]).exit_code == 0
    assert "1733" not in runner.invoke(app, ["emergency-numbers", "list", *data]).output
