"""Sound files that play (CFG-12, issues #15 and #16) through the API, on SQLite and PostgreSQL:
uploads converted once and kept in the account's folder, refusals with a stable error_id, the
account's music on hold, deletions that take the audio away."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
import soundfile

from api.support import Api, seed_demo
from nuage.bootstrap import Platform
from nuage.media.sounds import MAX_SECONDS, TARGET_RMS_DBFS
from nuage.services.directory.sound_files import sound_path, sounds_dir
from nuage.tenancy.model import PartyKind
from nuage.web.app import create_app
from sound_samples import dominant_hz, rms_dbfs, tone_file

DUPONT, PEETERS = "demo-dupont", "demo-peeters"
UPLOAD = "/sound-files?name=Hold%20tune&copyright_acknowledged=true"


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[Api]:
    """The demo's API over the platform fixture (SQLite, then PostgreSQL)."""
    seed_demo(platform)
    application = create_app(platform)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://nuage.test/api/v1"
    ) as http:
        yield Api(http, platform, application)


def _account(api: Api, name: str) -> str:
    with api.platform.uow() as uow:
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name=name)
    assert party is not None
    return party.id


async def _upload(
    api: Api, content: bytes, content_type: str = "audio/wav", path: str = UPLOAD
) -> httpx.Response:
    return await api.post(DUPONT, path, content=content, headers={"content-type": content_type})


@pytest.mark.rule("CFG-12")
async def test_an_upload_is_converted_once_and_kept_in_the_accounts_folder(api: Api) -> None:
    answer = await _upload(api, tone_file(700, 2, rate=44100, channels=2))
    assert answer.status_code == 201, answer.text
    sound = answer.json()
    assert sound["duration_ms"] == 2000
    path = sound_path(api.platform.settings.data_dir, sound["account_id"], sound["id"])
    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    assert (rate, audio.shape[1]) == (8000, 1)
    assert abs(dominant_hz(audio[800:-800, 0]) - 700) < 5
    assert abs(rms_dbfs(audio[800:-800, 0]) - TARGET_RMS_DBFS) < 0.5
    downloaded = await api.get(DUPONT, f"/sound-files/{sound['id']}/audio")
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "audio/wav"
    assert downloaded.content == path.read_bytes()
    # another customer sees neither the record nor its audio (TEN-4)
    assert (await api.get(PEETERS, f"/sound-files/{sound['id']}/audio")).status_code == 404


@pytest.mark.rule("CFG-12")
@pytest.mark.parametrize(
    ("content_type", "file_format", "subtype"),
    [
        ("audio/mpeg", "MP3", "MPEG_LAYER_III"),
        ("audio/ogg", "OGG", "VORBIS"),
        ("audio/flac", "FLAC", "PCM_16"),
    ],
)
async def test_common_formats_are_accepted(
    api: Api, content_type: str, file_format: str, subtype: str
) -> None:
    content = tone_file(500, 1, rate=44100, channels=2, file_format=file_format, subtype=subtype)
    answer = await _upload(api, content, content_type)
    assert answer.status_code == 201, answer.text
    assert abs(answer.json()["duration_ms"] - 1000) < 120


@pytest.mark.rule("CFG-12")
async def test_corrupt_overlong_and_unacknowledged_uploads_are_refused_and_nothing_is_kept(api: Api) -> None:
    corrupt = await _upload(api, b"RIFF....WAVEfmt " + b"\x00" * 64)
    assert corrupt.status_code == 422
    assert corrupt.json()["error_id"] == "unreadable-audio"
    assert corrupt.json()["details"]["field"] == "content"
    long = io.BytesIO()
    soundfile.write(long, np.zeros(8000 * (MAX_SECONDS + 10), dtype=np.int16), 8000, format="FLAC")
    overlong = await _upload(api, long.getvalue(), "audio/flac")
    assert overlong.status_code == 422
    assert overlong.json()["details"]["max_seconds"] == MAX_SECONDS
    unacknowledged = await _upload(api, tone_file(700, 1), path="/sound-files?name=Hold")
    assert unacknowledged.status_code == 422
    assert unacknowledged.json()["details"]["rule_id"] == "CFG-12"
    assert (await api.get(DUPONT, "/sound-files")).json()["items"] == []
    folder = sounds_dir(api.platform.settings.data_dir, _account(api, "Atelier Dupont"))
    assert not folder.exists() or not any(folder.iterdir())


@pytest.mark.rule("CFG-12")
async def test_the_music_on_hold_is_one_of_the_accounts_files_and_goes_with_it(api: Api) -> None:
    account = _account(api, "Atelier Dupont")
    sound = (await _upload(api, tone_file(700, 1))).json()
    hold = f"/customers/{account}/hold-music"
    assert (await api.get(DUPONT, hold)).json() == {"account_id": account, "sound_file_id": None}
    chosen = await api.put(DUPONT, hold, json={"sound_file_id": sound["id"]})
    assert chosen.status_code == 200, chosen.text
    assert (await api.get(DUPONT, hold)).json()["sound_file_id"] == sound["id"]
    wrong = await api.put(DUPONT, hold, json={"sound_file_id": "snd-not-there"})
    assert wrong.status_code == 404
    # removing the file takes its audio and gives the default back
    path = sound_path(api.platform.settings.data_dir, account, sound["id"])
    assert path.exists()
    removed = await api.http.delete(f"/sound-files/{sound['id']}", headers=await api.headers(DUPONT))
    assert removed.status_code == 204
    assert not path.exists()
    assert (await api.get(DUPONT, hold)).json()["sound_file_id"] is None
    assert (await api.get(DUPONT, f"/sound-files/{sound['id']}")).status_code == 404
