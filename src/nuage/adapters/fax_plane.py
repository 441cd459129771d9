"""Virtual fax on one SIP server (CFG-7, issue #16): the fax application wired to the fax inbox.

Owns ``attach_fax``: with fax enabled and the embedded media engine (the one that carries raw
audio; rtpengine does not), a number leading to a virtual fax is answered by ``FaxReceiver``
(spandsp), and what it receives goes to ``SqlFaxInbox`` (PDF kept, listed, e-mailed). Without
libspandsp, or on rtpengine, fax stays off (logged) and such calls are answered 404.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine

from nuage.adapters.fax_inbox import SqlFaxInbox
from nuage.adapters.fax_receiver import FaxReceiver
from nuage.adapters.spandsp import FaxUnavailable, library_available
from nuage.config import parse_host_port
from nuage.media.engine import EmbeddedMediaEngine
from nuage.media_settings import SipFaxSettings
from nuage.shared.clock import Clock
from nuage.sip.media import AudioStreamPort
from nuage.sip.server import SipServer

log = logging.getLogger("nuage.adapters.fax")


def attach_fax(
    server: SipServer, config: SipFaxSettings, engine: Engine, data_dir: Path, clock: Clock
) -> SqlFaxInbox | None:
    """Answer the server's calls to virtual faxes (None: fax is off, and why is logged)."""
    from nuage.adapters.smtp import SmtpMailer

    if not config.enabled:
        return None
    if server.media is None or not isinstance(server.media.port, AudioStreamPort):
        log.warning("virtual fax is off: it needs the embedded media engine")
        return None
    try:
        library_available()
    except FaxUnavailable as exc:
        log.warning("virtual fax is off: %s", exc)
        return None
    mailer = None
    if config.smtp:
        host, port = parse_host_port(config.smtp)
        mailer = SmtpMailer(
            host, port, username=config.smtp_username, password=config.smtp_password,
            start_tls=config.smtp_start_tls,
        )  # fmt: skip
    inbox = SqlFaxInbox(engine, data_dir, clock, mailer=mailer, mail_from=config.mail_from)
    media_port = server.media.port
    receiver = FaxReceiver(
        data_dir / "faxes" / "incoming",
        inbox.keep,
        ident=config.ident,
        max_s=config.max_call_s,
        engine=media_port if isinstance(media_port, EmbeddedMediaEngine) else None,  # T.38's UDPTL ports
    )
    server.applications.fax = receiver.answer
    return inbox
