"""Voicemail on a SIP node (issue #16): ``[sip.voicemail]`` wired to the server.

Owns the wiring of the voicemail store (``nuage.adapters.voicemail``, e-mailing through
``nuage.adapters.smtp`` when ``smtp`` is set), the prompts (generated with espeak-ng once, in a
thread, before the server takes calls), the feature codes (``*98<number>``, ``*97``) as media
applications, message waiting (SUBSCRIBE/NOTIFY) and the retention sweep (every
``purge_every_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from nuage.adapters.voicemail import SqlVoicemail
from nuage.config import parse_host_port
from nuage.media import prompts
from nuage.shared.clock import Clock
from nuage.sip.voicemail.apps import Voicemail, VoicemailCodes
from nuage.sip.voicemail.mwi import MessageWaiting

if TYPE_CHECKING:
    from nuage.media_settings import SipVoicemailSettings
    from nuage.sip.server import SipServer

log = logging.getLogger("nuage.adapters.voicemail")


class VoicemailPlane:
    """Voicemail's store, prompts, applications and message waiting on one SIP server."""

    def __init__(
        self, server: SipServer, config: SipVoicemailSettings, engine: Engine, data_dir: Path, clock: Clock
    ) -> None:
        from nuage.adapters.smtp import SmtpMailer

        mailer = None
        if config.smtp:
            host, port = parse_host_port(config.smtp)
            mailer = SmtpMailer(
                host,
                port,
                username=config.smtp_username,
                password=config.smtp_password,
                start_tls=config.smtp_start_tls,
            )
        self.config = config
        self.store = SqlVoicemail(engine, data_dir, clock, mailer=mailer, mail_from=config.mail_from)
        self.prompts_dir = config.prompts_dir or data_dir / "media" / "prompts"
        self.voicemail = Voicemail(
            self.store,
            prompts.PromptLibrary(self.prompts_dir),
            VoicemailCodes(config.deposit_code, config.retrieval_code),
        )
        self.mwi = MessageWaiting(server, server.registrar, self.store, server.settings.realm)
        server.applications.append(self.voicemail.route)
        server.applications.divert = self.voicemail.for_user  # call forwarding: busy, no answer
        server.mwi = self.mwi
        self._sweeper: asyncio.Task[None] | None = None
        self._generating: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Generate the prompts that are missing (in the background, off the loop: until a prompt
        exists its tone stands in), start the retention sweep."""
        loop = asyncio.get_running_loop()
        self._generating = loop.create_task(self._generate(), name="voicemail-prompts")
        self._sweeper = loop.create_task(self._sweep())

    async def _generate(self) -> None:
        try:
            made = await asyncio.to_thread(prompts.generate, self.prompts_dir)
        except Exception:
            log.exception("voicemail: the prompts could not be generated; tones stand in")
            return
        if made:
            log.info("voicemail: %d prompts generated in %s", made, self.prompts_dir)

    async def _sweep(self) -> None:
        while True:
            try:
                removed = await self.store.purge()
                if removed:
                    log.info("voicemail: %d messages past their retention deleted", removed)
            except Exception:
                log.exception("voicemail: the retention sweep failed")
            await asyncio.sleep(self.config.purge_every_s)

    async def stop(self) -> None:
        """Stop the sweep (and waiting on the prompts); let the e-mails being sent go."""
        if self._generating is not None:
            self._generating.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.store.drain()
