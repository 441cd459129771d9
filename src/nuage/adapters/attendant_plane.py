"""The auto-attendant and conference rooms on a SIP node (issue #16): the directory port over the
platform's units of work, the default prompts, the router wired to the server.

Owns ``UowAttendantDirectory`` (each question is one short transaction, run in a worker thread so
the event loop never waits on the database or on an argon2 PIN check) and ``AttendantPlane``,
which generates the default prompts once (in a worker thread, while the server starts) and hands
the applications the embedded engine's conference mixer (rtpengine has none: rooms then say
goodbye). A phone's call is checked against ``AttendantIndex`` in memory (issue #22: a read per
call in a worker thread held the GIL the event loop needed): a room or a number routed to an
application is answered within the index's refresh (2 s, or at once when the SIP directory is read
again); a call from outside and a string the index names are looked up in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from nuage.directory.conferences import JoinRole
from nuage.directory.destinations import NUMBER_KINDS, Destination, DestinationKind
from nuage.directory.menus import Menu
from nuage.directory.model import ConferenceRoom
from nuage.media import ivr_prompts
from nuage.media.engine import EmbeddedMediaEngine
from nuage.services.context import Context
from nuage.services.directory import conferences
from nuage.services.ports import UnitOfWork
from nuage.shared.clock import Clock
from nuage.shared.phone import dialled_to_e164
from nuage.sip.attendant.apps import Attendants
from nuage.sip.attendant.ports import Answering, LiveState, Sound
from nuage.sip.media import CallRecordings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from nuage.sip.server import SipServer
    from nuage.storage.sql.attendant_index import AttendantIndex
    from nuage.storage.sql.snapshots import RefreshedSnapshot

log = logging.getLogger("nuage.adapters.attendant")


class UowAttendantDirectory:
    """``AttendantDirectory`` over units of work."""

    def __init__(
        self, uow: Callable[[], UnitOfWork], clock: Clock, prompts_dir: Path, region: str = "BE"
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.prompts_dir = prompts_dir
        self.region = region
        self.ctx = Context.operator("", clock)  # the SIP plane acts for the platform itself
        self.index: RefreshedSnapshot[AttendantIndex] | None = None  # phones' calls answered from memory

    def _answering(self, account_id: str | None, dialled: str) -> Answering | None:
        text = dialled.strip()
        with self.uow() as uow:
            if account_id is not None and text.isdigit() and len(text) <= 8:
                room = uow.conference_rooms.find_by(account_id=account_id, extension=text)
                if room is not None:
                    return Answering(account_id, Destination(DestinationKind.CONFERENCE, room.id))
            e164 = dialled_to_e164(text, self.region)
            number = uow.numbers.find_by(e164=e164) if e164 else None
            routed = uow.number_applications.find(number.id) if number is not None else None
        if routed is None:
            return None
        destination = Destination.parse(routed.destination)
        return Answering(routed.account_id, destination) if destination.kind in NUMBER_KINDS else None

    async def answering(self, account_id: str | None, dialled: str) -> Answering | None:
        index = self.index
        if account_id is not None and index is not None:  # a phone's call (issue #22): in memory
            text = dialled.strip()
            known = index.value
            room = known.rooms.get((account_id, text)) if text.isdigit() and len(text) <= 8 else None
            if room is not None:
                return Answering(account_id, Destination(DestinationKind.CONFERENCE, room))
            e164 = _e164(text, self.region)
            if e164 is None or e164 not in known.numbers:
                return None
        return await asyncio.to_thread(self._answering, account_id, dialled)

    def _menus(self, account_id: str) -> tuple[Mapping[str, Menu], frozenset[str]]:
        with self.uow() as uow:
            menus = {m.id: m for m in uow.menus.list(account_id=account_id)}
            extensions = {u.extension for u in uow.users.list(account_id=account_id, no_service=False)}
            extensions |= {r.extension for r in uow.conference_rooms.list(account_id=account_id)}
        return menus, frozenset(e for e in extensions if e)

    async def menus(self, account_id: str) -> tuple[Mapping[str, Menu], frozenset[str]]:
        return await asyncio.to_thread(self._menus, account_id)

    def _schedule_destination(self, schedule_id: str) -> Destination | None:
        with self.uow() as uow:
            schedule = uow.schedules.find(schedule_id)
        return schedule.destination_at(self.clock.now()) if schedule is not None else None

    async def schedule_destination(self, schedule_id: str) -> Destination | None:
        return await asyncio.to_thread(self._schedule_destination, schedule_id)

    def _room(self, room_id: str) -> ConferenceRoom | None:
        with self.uow() as uow:
            return uow.conference_rooms.find(room_id)

    async def room(self, room_id: str) -> ConferenceRoom | None:
        return await asyncio.to_thread(self._room, room_id)

    def _dial_string(self, account_id: str, destination: Destination, voicemail_code: str) -> str | None:
        kind, target = destination.kind, destination.target or ""
        if kind in (DestinationKind.EXTENSION, DestinationKind.EXTERNAL):
            return target
        if kind in (DestinationKind.USER, DestinationKind.VOICEMAIL):
            with self.uow() as uow:
                user = uow.users.find(target)
            if user is None or user.account_id != account_id or not user.extension:
                return None
            return user.extension if kind is DestinationKind.USER else voicemail_code + user.extension
        if kind is DestinationKind.GROUP:  # a ring group is dialled by its extension (none: unreachable)
            with self.uow() as uow:
                group = uow.ring_groups.find(target)
            return group.extension if group is not None and group.account_id == account_id else None
        return None

    async def dial_string(self, account_id: str, destination: Destination, voicemail_code: str) -> str | None:
        return await asyncio.to_thread(self._dial_string, account_id, destination, voicemail_code)

    async def join_role(self, room: ConferenceRoom, entered: str) -> JoinRole | None:
        return await asyncio.to_thread(conferences.join_role, room, entered)

    def _joined(self, room: ConferenceRoom, key: str, label: str, role: JoinRole) -> None:
        with self.uow() as uow:
            conferences.participant_joined(uow, room, key, label, role, self.ctx)
            uow.commit()

    async def joined(self, room: ConferenceRoom, key: str, label: str, role: JoinRole) -> None:
        await asyncio.to_thread(self._joined, room, key, label, role)

    def _left(self, key: str) -> None:
        with self.uow() as uow:
            conferences.participant_left(uow, key)
            uow.commit()

    async def left(self, key: str) -> None:
        await asyncio.to_thread(self._left, key)

    def _state(self, key: str) -> LiveState | None:
        with self.uow() as uow:
            row = uow.conference_participants.find(key)
        return LiveState(row.muted, row.kicked) if row is not None else None

    async def state(self, key: str) -> LiveState | None:
        return await asyncio.to_thread(self._state, key)

    async def sound_file(self, account_id: str, sound_file_id: str) -> Path | None:
        return None  # CFG-12: uploads keep their metadata only so far; the default prompt plays

    def prompt(self, language: str, key: str) -> Sound:
        return ivr_prompts.prompt(self.prompts_dir, language, key)


@functools.lru_cache(maxsize=4096)
def _e164(dialled: str, region: str) -> str | None:
    """``dialled_to_e164``, remembered: phones dial the same extensions and numbers again."""
    return dialled_to_e164(dialled, region)


class AttendantPlane:
    """The applications of issue #16 (auto-attendant, conference rooms) on one SIP server."""

    def __init__(
        self,
        server: SipServer,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        prompts_dir: Path,
        region: str,
        voicemail_code: str = "*98",
        recordings: CallRecordings | None = None,
        engine: Engine | None = None,
    ) -> None:
        """``engine``: where the index of rooms and numbers is read (None: every call asks ``uow``)."""
        self.prompts_dir = prompts_dir
        self.directory = UowAttendantDirectory(uow, clock, prompts_dir, region)
        if engine is not None:
            from nuage.storage.sql.attendant_index import attendant_index

            self.directory.index = attendant_index(engine)
        port = server.media.port if server.media is not None else None
        mixer = port if isinstance(port, EmbeddedMediaEngine) else None
        if mixer is not None:
            mixer.clock = clock
        self.attendants = Attendants(self.directory, mixer, voicemail_code, recordings)
        server.applications.append(self.attendants.route)
        server.applications.numbers = self.attendants.answer_number  # called from outside too
        self._generating: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Generate the default prompts that are missing, in a worker thread while the server starts
        (a prompt not generated yet plays as a tone); read the index of rooms and numbers."""
        self._generating = asyncio.get_running_loop().create_task(self._generate())
        if self.directory.index is not None:
            await self.directory.index.start()

    async def reload_index(self) -> None:
        """Read the index of rooms and numbers again now (with the SIP directory)."""
        if self.directory.index is not None:
            await self.directory.index.reload()

    async def _generate(self) -> None:
        made = await asyncio.to_thread(ivr_prompts.generate, self.prompts_dir)
        if made:
            log.info("auto-attendant: %d prompts generated in %s", made, self.prompts_dir)

    async def stop(self) -> None:
        """Let a generation under way finish (its thread cannot be interrupted); stop the index."""
        if self.directory.index is not None:
            await self.directory.index.stop()
        if self._generating is not None:
            with contextlib.suppress(Exception):
                await self._generating
