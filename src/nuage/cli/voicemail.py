"""``nuage voicemail`` (issue #16): the prompts spoken ahead of time, and the retention sweep::

    nuage voicemail prompts             # speak the EN/FR/NL prompts into <data-dir>/media/prompts
    nuage voicemail purge               # delete the messages past their box's retention

The SIP server does both by itself (the prompts at start, the sweep every ``purge_every_s``); these
are for an installation step and for a node that does not run the SIP plane.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, command_settings, operator_session
from nuage.media import prompts
from nuage.services import voicemail as vm

voicemail_app = typer.Typer(help="Voicemail: prompts and retention (issue #16).", no_args_is_help=True)


@voicemail_app.command("prompts")
def voicemail_prompts(
    directory: Annotated[Path | None, typer.Option("--dir", help="Where to write the prompts.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Speak the voicemail prompts that are missing (espeak-ng), in English, French and Dutch."""
    settings = command_settings(data_dir, None)
    target = directory or settings.sip.voicemail.prompts_dir or settings.data_dir / "media" / "prompts"
    made = prompts.generate(target)
    typer.echo(f"{made} prompts generated in {target}")


@voicemail_app.command("purge")
def voicemail_purge(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete the messages past their box's retention, and their files."""
    with operator_session(data_dir, database_url) as (platform, _):
        with platform.uow() as uow:
            removed = vm.expired_messages(uow, platform.clock.now())
            uow.commit()
        for box, message in removed:
            vm.message_file(platform.settings.data_dir, box, message.id).unlink(missing_ok=True)
    typer.echo(f"{len(removed)} messages deleted")
