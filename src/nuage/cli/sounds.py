"""``nuage sounds``: an account's sound files (CFG-12) and its music on hold (issue #15).

``upload`` converts a file once (as the API does), ``list`` shows them, ``hold-music`` shows or
sets the one held parties hear (``--default``: the platform's melody again), ``remove`` deletes one
and ``purge`` every sound file of an account, with their audio.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.media.sounds import convert
from nuage.services.directory import sound_files as sounds

sounds_app = typer.Typer(help="CFG-12: sound files, and the music on hold they give.", no_args_is_help=True)

_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/opus",
    ".flac": "audio/flac",
    ".au": "audio/basic",
}

Account = Annotated[str, typer.Argument(help="The account (a customer's id)")]


@sounds_app.command("upload")
def sounds_upload(
    account: Account,
    file: Annotated[
        Path, typer.Argument(help="WAV, MP3, Ogg, Opus, FLAC or µ-law", exists=True, dir_okay=False)
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="A name for people (default: the file's)")
    ] = None,
    acknowledged: Annotated[
        bool,
        typer.Option("--copyright-acknowledged", help="CFG-12: you take responsibility for the copyright"),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Upload a sound file to an account: converted once to 8 kHz mono at a common loudness."""
    content_type = _TYPES.get(file.suffix.lower())
    if content_type is None:
        raise fail(f"invalid-input: name the file .wav, .mp3, .ogg, .opus, .flac or .au, not {file.name}")
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        sound, path = sounds.upload_sound_file(
            uow,
            ctx,
            platform.settings.data_dir,
            account,
            name or file.stem,
            content_type,
            file.read_bytes(),
            convert,
            uploaded_by_user_id=None,
            copyright_acknowledged=acknowledged,
        )
        try:
            uow.commit()
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    typer.echo(f"{sound.id}  {sound.name}  {(sound.duration_ms or 0) / 1000:.1f} s")


@sounds_app.command("list")
def sounds_list(account: Account, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """The account's sound files; the music on hold is marked with *."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        hold = sounds.get_hold_music(uow, ctx, account).sound_file_id
        for sound in uow.sound_files.list(account_id=account, order_by=("created_at",)):
            mark = "*" if sound.id == hold else " "
            length = "no audio" if sound.duration_ms is None else f"{sound.duration_ms / 1000:.1f} s"
            typer.echo(f"{mark} {sound.id}  {sound.name}  ({length})")


@sounds_app.command("hold-music")
def sounds_hold_music(
    account: Account,
    sound_id: Annotated[str | None, typer.Argument(help="The sound file held parties hear")] = None,
    default: Annotated[bool, typer.Option("--default", help="The platform's melody again")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the account's music on hold, or set it (a sound file of the account, or --default)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        if sound_id is not None or default:
            setting = sounds.set_hold_music(uow, ctx, account, None if default else sound_id)
            uow.commit()
        else:
            setting = sounds.get_hold_music(uow, ctx, account)
    typer.echo(f"{account}: music on hold {setting.sound_file_id or 'default'}")


@sounds_app.command("remove")
def sounds_remove(
    sound_id: Annotated[str, typer.Argument(help="The sound file")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a sound file and its audio."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        path = sounds.remove_sound_file(uow, ctx, platform.settings.data_dir, sound_id)
        uow.commit()
    path.unlink(missing_ok=True)
    typer.echo(f"{sound_id} removed")


@sounds_app.command("purge")
def sounds_purge(account: Account, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Remove every sound file of an account (it leaves), with its audio folder."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        folder = sounds.remove_account_sound_files(uow, ctx, platform.settings.data_dir, account)
        uow.commit()
    shutil.rmtree(folder, ignore_errors=True)
    typer.echo(f"{account}: every sound file removed")
