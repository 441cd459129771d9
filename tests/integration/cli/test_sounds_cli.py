"""``nuage sounds``: an account's sound files and its music on hold from the command line (CFG-12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuage.bootstrap import build_platform
from nuage.cli import app
from nuage.config import Settings
from nuage.services.directory.sound_files import sound_path, sounds_dir
from nuage.tenancy.model import PartyKind
from sound_samples import tone_file

runner = CliRunner()


@pytest.mark.rule("CFG-12")
def test_the_operator_uploads_a_tune_makes_it_the_music_on_hold_and_purges_it(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(app, ["demo", *data]).exit_code == 0
    platform = build_platform(Settings(data_dir=tmp_path / "data"))
    try:
        with platform.uow() as uow:
            party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert party is not None
        account = party.id
    finally:
        platform.close()
    tune = tmp_path / "tune.flac"
    tune.write_bytes(tone_file(700, 2, file_format="FLAC"))
    refused = runner.invoke(app, ["sounds", "upload", account, str(tune), *data])
    assert refused.exit_code == 2
    assert "CFG-12" in refused.output
    uploaded = runner.invoke(app, ["sounds", "upload", account, str(tune), "--copyright-acknowledged", *data])
    assert uploaded.exit_code == 0, uploaded.output
    sound_id = uploaded.output.split()[0]
    assert "2.0 s" in uploaded.output
    assert sound_path(tmp_path / "data", account, sound_id).exists()
    chosen = runner.invoke(app, ["sounds", "hold-music", account, sound_id, *data])
    assert chosen.exit_code == 0, chosen.output
    assert sound_id in chosen.output
    listed = runner.invoke(app, ["sounds", "list", account, *data])
    assert listed.output.startswith(f"* {sound_id}  tune")
    purged = runner.invoke(app, ["sounds", "purge", account, *data])
    assert purged.exit_code == 0, purged.output
    assert not sounds_dir(tmp_path / "data", account).exists()
    assert "default" in runner.invoke(app, ["sounds", "hold-music", account, *data]).output
