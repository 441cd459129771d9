"""Voicemail over the API (issue #16): boxes created and set (PIN hashed, greeting uploaded),
messages listed, downloaded, marked heard and deleted, by their tenant only (TEN-4)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
import soundfile

from nuage.directory.voicemail import Greeting, VoicemailMessage
from nuage.services import voicemail as vm
from nuage.tenancy.model import PartyKind

from .support import Api

DUPONT, PEETERS = "demo-dupont", "demo-peeters"


def _wav(seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    t = np.arange(int(8000 * seconds)) / 8000
    soundfile.write(out, (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16), 8000, format="WAV")
    return out.getvalue()


def _left(api: Api, box_id: str, content: bytes) -> str:
    """A message the SIP plane stored: its FLAC in the data directory, its row."""
    with api.platform.uow() as uow:
        box = uow.voicemail_boxes.get(box_id)
        message = VoicemailMessage(
            f"vmm-{len(content)}", box.id, box.account_id, "0470123456", datetime.now(UTC), 3000, len(content)
        )
        vm.add_message(uow, box, message)
        uow.commit()
    path = vm.message_file(api.platform.settings.data_dir, box, message.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return message.id


@pytest.mark.rule("TEN-4")
async def test_a_box_is_created_set_and_its_messages_heard_and_deleted_by_its_tenant_only(api: Api) -> None:
    with api.platform.uow() as uow:
        dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
        bob = uow.users.find_by(account_id=dupont, extension="212")
        assert bob is not None
    created = await api.post(DUPONT, "/voicemail-boxes", json={"user_id": bob.id, "language": "nl"})
    assert created.status_code == 201, created.text
    box = created.json()
    assert (box["number"], box["language"], box["has_pin"]) == ("212", "nl", False)
    assert "pin_hash" not in box
    box_id = box["id"]
    assert (await api.put(DUPONT, f"/voicemail-boxes/{box_id}/pin", json={"pin": "1234"})).status_code == 422
    assert (await api.put(DUPONT, f"/voicemail-boxes/{box_id}/pin", json={"pin": "5829"})).status_code == 204
    changed = await api.patch(
        DUPONT, f"/voicemail-boxes/{box_id}", json={"retention_days": 14, "email": None}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["retention_days"], changed.json()["email"], changed.json()["has_pin"]) == (
        14,
        None,
        True,
    )
    assert (await api.get(PEETERS, f"/voicemail-boxes/{box_id}")).status_code == 404

    headers = {**await api.headers(DUPONT), "content-type": "audio/wav"}
    greeting = await api.http.put(
        f"/voicemail-boxes/{box_id}/greetings/unavailable", content=_wav(), headers=headers
    )
    assert greeting.status_code == 200, greeting.text
    assert greeting.json()["greetings"] == ["unavailable"]
    with api.platform.uow() as uow:
        stored = uow.voicemail_boxes.get(box_id)
    audio, rate = soundfile.read(
        str(vm.greeting_file(api.platform.settings.data_dir, stored, Greeting.UNAVAILABLE))
    )
    assert rate == 8000
    assert len(audio) == 8000
    refused = await api.http.put(
        f"/voicemail-boxes/{box_id}/greetings/busy", content=b"not audio at all", headers=headers
    )
    assert refused.status_code == 422

    message_id = _left(api, box_id, b"fLaC-message")
    listed = (await api.get(DUPONT, "/voicemail-messages", params={"box_id": box_id})).json()["items"]
    assert [(m["id"], m["folder"]) for m in listed] == [(message_id, "new")]
    assert (await api.get(PEETERS, f"/voicemail-messages/{message_id}/audio")).status_code == 404
    audio_response = await api.get(DUPONT, f"/voicemail-messages/{message_id}/audio")
    assert audio_response.headers["content-type"] == "audio/flac"
    assert audio_response.content == b"fLaC-message"
    heard = await api.post(DUPONT, f"/voicemail-messages/{message_id}/heard")
    assert heard.json()["folder"] == "old"
    assert (await api.delete(PEETERS, f"/voicemail-messages/{message_id}")).status_code == 404
    assert (await api.delete(DUPONT, f"/voicemail-messages/{message_id}")).status_code == 204
    assert not vm.message_file(api.platform.settings.data_dir, stored, message_id).exists()
    assert (await api.get(DUPONT, f"/voicemail-messages/{message_id}")).status_code == 404
