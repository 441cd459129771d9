"""Call recordings over the API (CFG-9): listed, downloaded and deleted by their tenant only (TEN-4),
a deletion taking the file away and its bytes out of the recording volume billed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.directory.model import CallRecording
from nuage.services.directory.media import add_call_recording, recording_file
from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, DUPONT, PEETERS = "demo-operator", "demo-dupont", "demo-peeters"


def _recorded(api: Api, account_id: str, recording_id: str, content: bytes) -> None:
    """A call the SIP plane recorded: its FLAC in the data directory, its row and volume stored."""
    path = recording_file(api.platform.settings.data_dir, account_id, recording_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    with api.platform.uow() as uow:
        add_call_recording(
            uow,
            CallRecording(
                recording_id, account_id, f"call-{recording_id}", len(content), 3000, datetime.now(UTC)
            ),
        )
        uow.commit()


@pytest.mark.rule("CFG-9")
@pytest.mark.rule("TEN-4")
async def test_recordings_are_listed_downloaded_and_deleted_by_their_tenant_only(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    _recorded(api, dupont, "rec-dupont-1", b"fLaC-dupont-one")
    _recorded(api, dupont, "rec-dupont-2", b"fLaC-dupont-two!")
    _recorded(api, peeters, "rec-peeters-1", b"fLaC-peeters")

    own = (await api.get(DUPONT, "/call-recordings", params={"limit": 100})).json()["items"]
    assert sorted(r["id"] for r in own) == ["rec-dupont-1", "rec-dupont-2"]
    assert {r["size_bytes"] for r in own} == {15, 16}
    assert (await api.get(DUPONT, "/call-recordings/rec-peeters-1")).status_code == 404
    assert (await api.get(DUPONT, "/call-recordings/rec-peeters-1/audio")).status_code == 404
    assert (await api.delete(DUPONT, "/call-recordings/rec-peeters-1")).status_code == 404

    audio = await api.get(DUPONT, "/call-recordings/rec-dupont-1/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/flac"
    assert audio.content == b"fLaC-dupont-one"

    assert (await api.delete(DUPONT, "/call-recordings/rec-dupont-1")).status_code == 204
    assert not recording_file(api.platform.settings.data_dir, dupont, "rec-dupont-1").exists()
    assert (await api.get(DUPONT, "/call-recordings/rec-dupont-1")).status_code == 404
    with api.platform.uow() as uow:
        setting = uow.recording.find(dupont)
    assert setting is not None
    assert (setting.recordings, setting.stored_bytes) == (1, 16)  # what the monthly count reads (CFG-9)
    everything = (await api.get(OPERATOR, "/call-recordings", params={"limit": 100})).json()["items"]
    assert sorted(r["id"] for r in everything) == ["rec-dupont-2", "rec-peeters-1"]
