"""CFG-9: recordings are held no longer than their account's retention period, and never outlive
their account: the daily pass (``nuage serve``, ``nuage contracts apply``) deletes files and rows,
and the recording volume the monthly count bills follows. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from nuage.adapters.call_recordings import SqlCallRecordings
from nuage.bootstrap import Platform
from nuage.cli import app
from nuage.cli.recordings_job import purge_recordings_pass
from nuage.directory.model import CallRecording, RecordingSetting
from nuage.services.billing.counting import current_counts
from nuage.services.demo import load_demo
from nuage.services.directory.media import add_call_recording, recording_file
from nuage.shared.clock import FrozenClock
from nuage.sip.media import Recording
from nuage.tenancy.model import PartyKind
from nuage.terms.counting import ItemKind

runner = CliRunner()


def _account(platform: Platform, name: str) -> str:
    with platform.uow() as uow:
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name=name)
    assert party is not None
    return party.id


def _recorded(platform: Platform, account_id: str, recording_id: str, size: int) -> None:
    """A call the SIP plane recorded now (the platform's clock): its file, its row, its bytes."""
    path = recording_file(platform.settings.data_dir, account_id, recording_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"f" * size)
    with platform.uow() as uow:
        add_call_recording(
            uow,
            CallRecording(recording_id, account_id, f"call-{recording_id}", size, 1000, platform.clock.now()),
        )
        uow.commit()


def _held(platform: Platform, account_id: str) -> tuple[list[str], RecordingSetting | None]:
    with platform.uow() as uow:
        rows = sorted(r.id for r in uow.call_recordings.list(account_id=account_id))
        return rows, uow.recording.find(account_id)


@pytest.mark.rule("CFG-9")
def test_recordings_older_than_the_retention_period_are_deleted_and_leave_the_volume(
    platform: Platform, clock: FrozenClock
) -> None:
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        uow.commit()
    dupont, peeters = _account(platform, "Atelier Dupont"), _account(platform, "Bakkerij Peeters")
    _recorded(platform, dupont, "rec-old", 3000)
    _recorded(platform, peeters, "rec-kept", 500)  # Peeters keeps its recordings until deleted
    clock.advance(timedelta(days=20))
    _recorded(platform, dupont, "rec-new", 2000)
    with platform.uow() as uow:
        setting = uow.recording.find(dupont)
        assert setting is not None
        uow.recording.update(replace(setting, retention_days=30))
        uow.commit()

    clock.advance(timedelta(days=10))  # rec-old is exactly 30 days old: still held
    assert purge_recordings_pass(platform) == 0
    clock.advance(timedelta(seconds=1))
    assert purge_recordings_pass(platform) == 1

    rows, setting = _held(platform, dupont)
    assert rows == ["rec-new"]
    assert setting is not None
    assert (setting.recordings, setting.stored_bytes) == (1, 2000)
    assert not recording_file(platform.settings.data_dir, dupont, "rec-old").exists()
    assert recording_file(platform.settings.data_dir, dupont, "rec-new").exists()
    assert _held(platform, peeters)[0] == ["rec-kept"]
    clock.advance(timedelta(days=365))
    assert purge_recordings_pass(platform) == 1  # rec-new in turn; Peeters' stays
    with platform.uow() as uow:
        counts = current_counts(uow, dupont, clock.now().date())
    assert counts[ItemKind.RECORDING_GB] == 0  # CFG-9: nothing held, nothing billed
    assert _held(platform, peeters)[0] == ["rec-kept"]


@pytest.mark.rule("CFG-9")
@pytest.mark.rule("CTR-2")
async def test_a_terminated_account_keeps_no_recording(platform: Platform) -> None:
    url = platform.settings.database_url
    target = ["--data-dir", str(platform.settings.data_dir)] + (["--database-url", url] if url else [])
    assert runner.invoke(app, ["demo", *target]).exit_code == 0
    dupont, peeters = _account(platform, "Atelier Dupont"), _account(platform, "Bakkerij Peeters")
    _recorded(platform, dupont, "rec-d1", 1000)
    _recorded(platform, dupont, "rec-d2", 1500)
    _recorded(platform, peeters, "rec-p1", 700)
    platform.close()
    notice = ["contracts", "notice", "--customer", dupont, "--received-on", "2026-01-20", "--confirm"]
    assert runner.invoke(app, [*notice, *target]).exit_code == 0
    applied = runner.invoke(app, ["contracts", "apply", *target])
    assert applied.exit_code == 0, applied.output
    assert f"{dupont}: terminated (CTR-2)" in applied.output
    assert "2 call recordings deleted (CFG-9)" in applied.output

    rows, setting = _held(platform, dupont)
    assert rows == []
    assert setting is not None
    assert (setting.recordings, setting.stored_bytes) == (0, 0)
    for gone in ("rec-d1", "rec-d2"):
        assert not recording_file(platform.settings.data_dir, dupont, gone).exists()
    assert _held(platform, peeters)[0] == ["rec-p1"]
    assert recording_file(platform.settings.data_dir, peeters, "rec-p1").exists()

    # a call that was still being recorded when the account ended: its recording is not kept
    plane = SqlCallRecordings(platform.engine, platform.settings.data_dir, platform.clock)
    late = recording_file(platform.settings.data_dir, dupont, "rec-late")
    late.write_bytes(b"f" * 900)
    await plane.stored(dupont, "call-late", Recording(late, 900, 2.0))
    assert not late.exists()
    rows, setting = _held(platform, dupont)
    assert rows == []
    assert setting is not None
    assert (setting.recordings, setting.stored_bytes) == (0, 0)
