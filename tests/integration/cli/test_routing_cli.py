"""``nuage forwarding`` and ``nuage ring-groups`` (issue #15) on the demo, from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuage.bootstrap import build_platform
from nuage.cli import app
from nuage.config import Settings

runner = CliRunner()


def _ids(data_dir: Path) -> tuple[str, str, str]:
    platform = build_platform(Settings(data_dir=data_dir, secret_key="test-signing-key-0123456789"))
    try:
        with platform.uow() as uow:
            alice = uow.users.find_by(email="alice@dupont.example")
            bob = uow.users.find_by(email="bob@dupont.example")
            assert alice is not None
            assert bob is not None
            return alice.account_id, alice.id, bob.id
    finally:
        platform.close()


@pytest.mark.rule("EMG-2")
def test_the_operator_sets_forwarding_and_ring_groups(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(app, ["demo", *data]).exit_code == 0
    account, alice, bob = _ids(tmp_path / "data")
    set_ = runner.invoke(
        app, ["forwarding", "set", bob, "--no-answer", "211", "--seconds", "15", "--dnd", *data]
    )
    assert set_.exit_code == 0, set_.output
    assert "no answer (15 s)       211" in set_.output
    assert "do not disturb         on" in set_.output
    off = runner.invoke(app, ["forwarding", "set", bob, "--no-answer", "off", "--no-dnd", *data])
    assert "no answer (15 s)       off" in off.output
    refused = runner.invoke(app, ["forwarding", "set", bob, "--busy", "112", *data])
    assert refused.exit_code == 2
    assert "(EMG-2)" in refused.output
    added = runner.invoke(
        app,
        [
            "ring-groups",
            "add",
            account,
            "Accueil",
            "--member",
            alice,
            "--member",
            bob,
            "--strategy",
            "sequential",
            "--extension",
            "250",
            "--fallback",
            "+3223000100",
            *data,
        ],
    )
    assert added.exit_code == 0, added.output
    group_id = added.output.split()[0]
    listed = runner.invoke(app, ["ring-groups", "list", account, *data])
    assert f"{group_id}  Accueil  ext 250  sequential  {alice} {bob}  15/60 s -> +3223000100" in listed.output
    assert runner.invoke(app, ["ring-groups", "remove", group_id, *data]).exit_code == 0
    assert group_id not in runner.invoke(app, ["ring-groups", "list", account, *data]).output
