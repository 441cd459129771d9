"""Sound files (CFG-12) and the account's music on hold (issue #15): the use cases.

Owns what an upload stores (the record, and the audio converted once into what the engines play,
kept as ``<data_dir>/sounds/<account_id>/<id>.wav``), what a removal takes away (the record, its
file, and the account's music on hold when it was that file), which sound file an account's held
parties hear, and the removal of every sound file of an account. Converting is the caller's
``convert`` (``nuage.media.sounds.convert``); files written or to remove are handed back, so the
caller removes them once the change is committed (or written ones when it is not).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from nuage.directory.model import HoldMusicSetting, SoundFile
from nuage.directory.rules import check_copyright_acknowledgment, check_sound_file, clean_name
from nuage.errors import Conflict
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id


class ConvertedAudio(Protocol):
    """What a converter makes of an upload: the WAV the engines play, and its length."""

    @property
    def wav(self) -> bytes: ...
    @property
    def duration_ms(self) -> int: ...


Converter = Callable[[bytes], ConvertedAudio]


def sounds_dir(data_dir: Path, account_id: str) -> Path:
    """CFG-12: the folder of an account's sound files."""
    return data_dir / "sounds" / account_id


def sound_path(data_dir: Path, account_id: str, sound_id: str) -> Path:
    """CFG-12: where a sound file's converted audio (8 kHz mono WAV) is kept."""
    return sounds_dir(data_dir, account_id) / f"{sound_id}.wav"


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".part")
    scratch.write_bytes(content)
    os.replace(scratch, path)  # a file is there whole, or not at all


def upload_sound_file(
    uow: UnitOfWork,
    ctx: Context,
    data_dir: Path,
    account_id: str,
    name: str,
    content_type: str,
    content: bytes,
    convert: Converter,
    *,
    uploaded_by_user_id: str | None,
    copyright_acknowledged: bool,
) -> tuple[SoundFile, Path]:
    """CFG-12: a sound file, accepted only with the uploader's copyright acknowledgment, converted
    once (``convert`` refuses what is not audio) and written; the caller removes the file when the
    change is not committed.

    The uploader is a user of the account, or staff of the partner serving it or of the operator
    (TEN-4: anyone the caller may see; the staff's own account is not the customer's)."""
    get_customer(uow, ctx, account_id)
    check_copyright_acknowledgment(copyright_acknowledged)
    check_sound_file(content_type, len(content))
    if uploaded_by_user_id is not None:
        get_visible(uow.users, ctx, uploaded_by_user_id)
    cleaned = clean_name(name)
    audio = convert(content)
    now = ctx.clock.now()
    sound = SoundFile(
        id=new_id("snd"),
        account_id=account_id,
        name=cleaned,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by_user_id=uploaded_by_user_id,
        copyright_acknowledged_at=now,
        created_at=now,
        duration_ms=audio.duration_ms,
    )
    uow.sound_files.add(sound)
    path = sound_path(data_dir, account_id, sound.id)
    _write(path, audio.wav)
    return sound, path


def remove_sound_file(uow: UnitOfWork, ctx: Context, data_dir: Path, sound_id: str) -> Path:
    """CFG-12: remove a sound file (the account's music on hold goes back to the default when it
    was this one); the file the caller deletes once committed."""
    sound = get_visible(uow.sound_files, ctx, sound_id)
    setting = uow.hold_music.find(sound.account_id)
    if setting is not None and setting.sound_file_id == sound.id:
        uow.hold_music.update(HoldMusicSetting(sound.account_id, None))
    uow.sound_files.remove(sound.id)
    return sound_path(data_dir, sound.account_id, sound.id)


def remove_account_sound_files(uow: UnitOfWork, ctx: Context, data_dir: Path, account_id: str) -> Path:
    """CFG-12: an account leaves: its music-on-hold setting and every sound file go; the folder the
    caller deletes once committed."""
    get_customer(uow, ctx, account_id)
    if uow.hold_music.find(account_id) is not None:
        uow.hold_music.remove(account_id)
    for sound in uow.sound_files.list(account_id=account_id):
        uow.sound_files.remove(sound.id)
    return sounds_dir(data_dir, account_id)


def get_hold_music(uow: UnitOfWork, ctx: Context, account_id: str) -> HoldMusicSetting:
    """Issue #15: the sound file the account's held parties hear (none: the default)."""
    get_customer(uow, ctx, account_id)
    return uow.hold_music.find(account_id) or HoldMusicSetting(account_id)


def set_hold_music(
    uow: UnitOfWork, ctx: Context, account_id: str, sound_file_id: str | None
) -> HoldMusicSetting:
    """Issue #15: the account's music on hold is one of its own sound files (TEN-4: another
    account's is not found), one whose audio was kept; None: the default again."""
    get_customer(uow, ctx, account_id)
    if sound_file_id is not None:
        sound = get_visible(uow.sound_files, ctx, sound_file_id, account_id=account_id)
        if sound.duration_ms is None:
            raise Conflict(
                "This sound file was uploaded before audio was kept; upload it again", field="sound_file_id"
            )
    updated = HoldMusicSetting(account_id, sound_file_id)
    if uow.hold_music.find(account_id) is None:
        uow.hold_music.add(updated)
    else:
        uow.hold_music.update(updated)
    return updated


def hold_music_file(uow: UnitOfWork, data_dir: Path, account_id: str) -> tuple[Path, int] | None:
    """Issue #15: the converted audio an account's held parties hear and its length in ms (None:
    the default), for the SIP plane (no caller scope: the call already belongs to the account)."""
    setting = uow.hold_music.find(account_id)
    if setting is None or setting.sound_file_id is None:
        return None
    sound = uow.sound_files.find(setting.sound_file_id)
    if sound is None or sound.account_id != account_id or sound.duration_ms is None:
        return None
    return sound_path(data_dir, account_id, sound.id), sound.duration_ms
