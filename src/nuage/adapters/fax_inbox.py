"""The SIP plane's fax inbox (CFG-7, issue #16): a fax call's pages kept, listed and e-mailed.

Owns ``SqlFaxInbox``, the ``on_fax`` of ``FaxReceiver``: the PDF is written to the data directory
(``services.fax.pdf_file``), the ``ReceivedFax`` recorded in its own unit of work, acting for the
virtual fax's account, then the PDF e-mailed to the fax's address in the background (a failed
e-mail is logged; the fax stays listed for the API). Files and the database in worker threads:
nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import Engine

from nuage.adapters.fax_receiver import FaxCall
from nuage.directory.fax import ReceivedFax
from nuage.directory.model import VirtualFax
from nuage.services import fax as faxes
from nuage.services.fax_mail import fax_mail
from nuage.services.payments.ports import Mailer, MailNotSent
from nuage.shared.clock import Clock
from nuage.shared.ids import new_id
from nuage.storage.sql.unit_of_work import SqlUnitOfWork

log = logging.getLogger("nuage.adapters.fax")


class SqlFaxInbox:
    """Keeps received faxes over SQL storage; e-mails them through ``mailer``."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        clock: Clock,
        *,
        mailer: Mailer | None = None,
        mail_from: str = "fax@nuage.local",
    ) -> None:
        self._engine = engine
        self._data_dir = data_dir
        self._clock = clock
        self._mailer = mailer
        self._mail_from = mail_from
        self._tasks: set[asyncio.Task[None]] = set()

    async def keep(self, call: FaxCall) -> ReceivedFax:
        """Store ``call``'s fax (its PDF, its record) and e-mail it in the background."""
        fax = ReceivedFax(
            id=new_id("rfx"),
            fax_id=call.fax_id,
            account_id=call.account_id,
            received_at=self._clock.now(),
            status=call.status,
            pages=call.pages,
            reason=call.reason,
            sender=call.sender,
            caller=call.caller,
            size_bytes=len(call.pdf),
        )
        stored, virtual, language = await asyncio.to_thread(self._store, fax, call.pdf)
        if virtual.email and self._mailer is not None:
            task = asyncio.get_running_loop().create_task(self._email(virtual, stored, call.pdf, language))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return stored

    def _store(self, fax: ReceivedFax, pdf: bytes) -> tuple[ReceivedFax, VirtualFax, str | None]:
        path = faxes.pdf_file(self._data_dir, fax)
        if pdf:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pdf)
        try:
            with SqlUnitOfWork(self._engine) as uow:
                stored, virtual = faxes.record_fax(uow, fax)
                language = faxes.recipient_language(uow, virtual)
                uow.commit()
        except Exception:
            path.unlink(missing_ok=True)
            raise
        return stored, virtual, language

    async def _email(self, virtual: VirtualFax, fax: ReceivedFax, pdf: bytes, language: str | None) -> None:
        assert self._mailer is not None
        try:
            await self._mailer.send(fax_mail(virtual, fax, self._mail_from, pdf or None, language))
        except MailNotSent as exc:
            log.warning("fax %s not e-mailed to virtual fax %s: %s", fax.id, virtual.id, exc)
            return
        await asyncio.to_thread(self._emailed, fax.id)

    def _emailed(self, fax_id: str) -> None:
        with SqlUnitOfWork(self._engine) as uow:
            faxes.mark_emailed(uow, fax_id, self._clock.now())
            uow.commit()

    async def drain(self) -> None:
        """Wait for the e-mails under way (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
