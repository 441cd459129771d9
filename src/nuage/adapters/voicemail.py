"""The SIP plane's voicemail port (issue #16), bridged to the voicemail use cases and the mail port.

Every database step runs in a worker thread in its own unit of work, acting for the box's account
(TEN-4); files are read and written in threads too: nothing here blocks the event loop. A message
is recorded by the media engine as a stereo FLAC (the caller on the left), kept as a mono FLAC
(``message_file``), listed, then e-mailed in the background when the box has an address; every
change of a box's messages is told to the listeners (message waiting, ``nuage.sip.voicemail.mwi``)
of this process. ``purge`` deletes the messages whose retention ran out, with their files.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import soundfile
from sqlalchemy import Engine

from nuage.directory.voicemail import MIN_MESSAGE_MS, Folder, Greeting, VoicemailBox, VoicemailMessage
from nuage.services import voicemail as vm
from nuage.services.context import Context
from nuage.services.payments.ports import Mailer, MailNotSent
from nuage.services.ports import UnitOfWork
from nuage.services.voicemail_mail import message_mail
from nuage.shared.clock import Clock
from nuage.shared.ids import new_id
from nuage.sip.media import Recording
from nuage.sip.voicemail.ports import Box, BoxListener, Message
from nuage.storage.sql.unit_of_work import SqlUnitOfWork
from nuage.tenancy.rules import TenantScope

log = logging.getLogger("nuage.adapters.voicemail")


class SqlVoicemail:
    """VoicemailStore over the use cases and the unit of work; e-mails through ``mailer``."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        clock: Clock,
        *,
        mailer: Mailer | None = None,
        mail_from: str = "voicemail@nuage.local",
    ) -> None:
        self._engine = engine
        self._data_dir = data_dir
        self._clock = clock
        self._mailer = mailer
        self._mail_from = mail_from
        self._listeners: list[BoxListener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def _ctx(self, account_id: str) -> Context:
        return Context(TenantScope(account_id, frozenset({account_id})), self._clock)

    def _box(self, box: VoicemailBox) -> Box:
        greetings = {name: vm.greeting_file(self._data_dir, box, Greeting(name)) for name in box.greetings}
        return Box(box.id, box.account_id, box.number, box.language, box.max_message_s, greetings)

    def _read(self, box_id: str) -> VoicemailBox:
        with SqlUnitOfWork(self._engine) as uow:
            return uow.voicemail_boxes.get(box_id)

    # -- finding boxes ------------------------------------------------------------------------------
    async def box_by_number(self, account_id: str, number: str) -> Box | None:
        """The account's box numbered ``number``."""

        def find() -> VoicemailBox | None:
            with SqlUnitOfWork(self._engine) as uow:
                return uow.voicemail_boxes.find_by(account_id=account_id, number=number)

        found = await asyncio.to_thread(find)
        return self._box(found) if found is not None else None

    async def box_of_user(self, user_id: str) -> Box | None:
        """The user's own box."""

        def find() -> VoicemailBox | None:
            with SqlUnitOfWork(self._engine) as uow:
                return uow.voicemail_boxes.find_by(user_id=user_id)

        found = await asyncio.to_thread(find)
        return self._box(found) if found is not None else None

    async def boxes_watched_by(self, user_id: str) -> list[Box]:
        """The user's box and the shared boxes of the user's account the user is a member of."""

        def find() -> list[VoicemailBox]:
            with SqlUnitOfWork(self._engine) as uow:
                user = uow.users.find(user_id)
                if user is None:
                    return []
                boxes = uow.voicemail_boxes.list(account_id=user.account_id, order_by=("number", "id"))
                return [box for box in boxes if user_id in box.watchers()]

        return [self._box(box) for box in await asyncio.to_thread(find)]

    # -- leaving a message ---------------------------------------------------------------------------
    async def recording_path(self, box: Box) -> Path:
        """A scratch file in the box's directory, for the engine to record into."""
        directory = self._data_dir / "voicemail" / box.account_id / box.box_id
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        return directory / f"incoming-{new_id('rec')}.flac"

    async def deposit(self, box: Box, caller: str, caller_name: str, recording: Recording) -> str | None:
        """Keep the caller's channel as the message (mono FLAC), list it, e-mail it, light the lamps."""
        duration_ms = round(recording.duration_s * 1000)
        if duration_ms < MIN_MESSAGE_MS:
            await asyncio.to_thread(recording.path.unlink, missing_ok=True)
            return None
        stored = await asyncio.to_thread(self._store, box, caller, caller_name, recording, duration_ms)
        self._changed(stored[0])
        if stored[0].email is not None and self._mailer is not None:
            self._spawn(self._email(stored[0], stored[1]))
        return stored[1].id

    def _store(
        self, box: Box, caller: str, caller_name: str, recording: Recording, duration_ms: int
    ) -> tuple[VoicemailBox, VoicemailMessage]:
        row = self._read(box.box_id)
        message_id = new_id("vmm")
        path = vm.message_file(self._data_dir, row, message_id)
        data, rate = soundfile.read(str(recording.path), dtype="int16", always_2d=True)
        soundfile.write(str(path), data[:, 0], rate, format="FLAC", subtype="PCM_16")
        recording.path.unlink(missing_ok=True)
        message = VoicemailMessage(
            id=message_id,
            box_id=row.id,
            account_id=row.account_id,
            caller=caller[:64],
            received_at=self._clock.now(),
            duration_ms=duration_ms,
            size_bytes=path.stat().st_size,
            caller_name=caller_name[:200],
        )
        with SqlUnitOfWork(self._engine) as uow:
            vm.add_message(uow, row, message)
            uow.commit()
        return row, message

    async def _email(self, box: VoicemailBox, message: VoicemailMessage) -> None:
        assert self._mailer is not None
        path = vm.message_file(self._data_dir, box, message.id)
        audio = await asyncio.to_thread(path.read_bytes) if box.attach_audio else None
        try:
            await self._mailer.send(message_mail(box, message, self._mail_from, audio))
        except MailNotSent as exc:
            log.warning("voicemail: message %s not e-mailed to box %s: %s", message.id, box.id, exc)
            return
        await asyncio.to_thread(self._emailed, message.id)

    def _emailed(self, message_id: str) -> None:
        with SqlUnitOfWork(self._engine) as uow:
            vm.mark_emailed(uow, message_id, self._clock.now())
            uow.commit()

    # -- listening -------------------------------------------------------------------------------------
    async def check_pin(self, box: Box, pin: str) -> bool:
        """Whether ``pin`` opens the box (argon2, in a thread)."""
        row = await asyncio.to_thread(self._read, box.box_id)
        return await asyncio.to_thread(vm.pin_opens, row, pin)

    async def messages(self, box: Box) -> list[Message]:
        """New messages first, then old, each oldest first."""

        def read() -> tuple[VoicemailBox, list[VoicemailMessage]]:
            with SqlUnitOfWork(self._engine) as uow:
                row = uow.voicemail_boxes.get(box.box_id)
                return row, vm.list_messages(uow, self._ctx(box.account_id), box.box_id)

        row, messages = await asyncio.to_thread(read)
        return [
            Message(
                m.id,
                m.caller,
                m.received_at,
                vm.message_file(self._data_dir, row, m.id),
                m.folder is Folder.NEW,
            )
            for m in messages
        ]

    async def heard(self, box: Box, message_id: str) -> None:
        """The message moves to the old ones."""
        self._changed(await asyncio.to_thread(self._change, box, message_id, vm.mark_heard))

    async def delete(self, box: Box, message_id: str) -> None:
        """The message and its file are deleted."""
        row = await asyncio.to_thread(self._change, box, message_id, vm.delete_message)
        await asyncio.to_thread(vm.message_file(self._data_dir, row, message_id).unlink, missing_ok=True)
        self._changed(row)

    def _change(
        self, box: Box, message_id: str, change: Callable[[UnitOfWork, Context, str], object]
    ) -> VoicemailBox:
        with SqlUnitOfWork(self._engine) as uow:
            change(uow, self._ctx(box.account_id), message_id)
            row = uow.voicemail_boxes.get(box.box_id)
            uow.commit()
        return row

    async def counts(self, box_id: str) -> tuple[int, int]:
        """(new, old)."""

        def read() -> tuple[int, int]:
            with SqlUnitOfWork(self._engine) as uow:
                found = vm.counts(uow, box_id)
                return found.new, found.old

        return await asyncio.to_thread(read)

    # -- changes, retention ----------------------------------------------------------------------------
    def listen(self, listener: BoxListener) -> None:
        """Tell ``listener`` of every box whose messages change (in this process)."""
        self._listeners.append(listener)

    def _changed(self, box: VoicemailBox) -> None:
        for listener in self._listeners:
            listener(box.id, box.watchers())

    async def purge(self) -> int:
        """Delete the messages whose box's retention ran out, and their files; how many."""

        def run() -> list[tuple[VoicemailBox, VoicemailMessage]]:
            with SqlUnitOfWork(self._engine) as uow:
                removed = vm.expired_messages(uow, self._clock.now())
                uow.commit()
            for box, message in removed:
                vm.message_file(self._data_dir, box, message.id).unlink(missing_ok=True)
            return removed

        removed = await asyncio.to_thread(run)
        for box in {box.id: box for box, _ in removed}.values():
            self._changed(box)
        return len(removed)

    def _spawn(self, work: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the e-mails still being sent."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
