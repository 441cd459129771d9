"""The auto-attendant and conference rooms as media applications (``nuage.sip.b2bua.apps``).

``Attendants.route`` (an ``AppRouter``) starts them when a phone dials a conference room's
extension or a number routed to a menu, a schedule, a room or a Web Meeting room's dial-in
(``nuage.sip.attendant.meeting``); ``Attendants.answer_number`` (the
server's ``Applications.numbers``) when such a number is called from the public network. The menu
application runs ``directory.attendant``'s state machine on the call: prompts play (a key stops
them), keys and silences go to the machine, its timers are the waits for a key. A schedule is
evaluated when the call arrives. A room asks for its PIN (three tries; the moderator PIN makes a
moderator), then the caller is in the engine's mix until they hang up or the API kicks them; the
API's mute is applied within ``POLL_S``. When the account records calls (CFG-9), the room's whole
mix is recorded from its first participant in to its last one out, and stored as the account's call
recording.

A user, an extension, a group, a voicemail box or an external number is reached by a blind
transfer (RFC 3515 REFER to the caller's phone, which then places that call itself: CAP-3 capacity
and SIP-2 caller ID apply to it as to any call of the phone); a voicemail box is reached by the
deposit code and the user's extension. A caller with no phone to REFER (a carrier's caller), or
whose phone or PBX refuses the transfer, is bridged there by the B2BUA (``nuage.sip.b2bua.app_bridge``:
an external number is then an outbound call of the menu's account under CAP-3, SIP-2 and SIP-5),
except to a voicemail box: the deposit runs on the caller's call (``leave_message``; the user's
account is the menu's, ``dial_string`` checks it), and to a conference room's extension keyed in
dial-by-extension: the caller joins the room on this call (its PIN asked), as a phone dialling the
extension would. What cannot be reached says goodbye.
"""

from __future__ import annotations

import asyncio
import logging

from nuage.directory.attendant import Attendant, Hangup, Play, StartTimer, StopPlaying, Transfer
from nuage.directory.conferences import JoinRole
from nuage.directory.destinations import Destination, DestinationKind
from nuage.directory.menus import Prompt
from nuage.directory.model import ConferenceRoom
from nuage.sip.attendant.meeting import MeetingDialIn
from nuage.sip.attendant.ports import AttendantDirectory, ConferenceMixer, Sound
from nuage.sip.b2bua.app_bridge import connect
from nuage.sip.b2bua.apps import AppCall, AppDispatch, MediaApplication, NumberApp
from nuage.sip.media import CallRecordings
from nuage.sip.message import SipResponse, SipUri
from nuage.sip.ports import SipAccount

log = logging.getLogger("nuage.sip.attendant")

PIN_TRIES = 3
PIN_TIMEOUT_S = 10.0
POLL_S = 0.5
MAX_HOPS = 16  # schedules and menus leading to each other
REFER_TIMEOUT_S = 8.0


class Attendants:
    """The auto-attendant and conference applications over the directory and the engine's mixer."""

    def __init__(
        self,
        directory: AttendantDirectory,
        mixer: ConferenceMixer | None,
        voicemail_code: str = "*98",
        recordings: CallRecordings | None = None,
    ) -> None:
        self.directory = directory
        self.mixer = mixer
        self.recordings = recordings  # CFG-9: a room of an account that records calls is recorded
        self.voicemail_code = voicemail_code  # then the box's extension: leaves a message
        self.meetings: MeetingDialIn | None = None  # MTG-1: phones into Web Meeting rooms

    async def route(self, account: SipAccount, dialled: str) -> AppDispatch | None:
        """An ``AppRouter``: the application for a room's extension or an answered number."""
        found = await self.directory.answering(account.account_id, dialled)
        if found is None:
            return None
        return AppDispatch(self.application(found.account_id, found.destination), dialled)

    async def answer_number(self, dialled: str) -> NumberApp | None:
        """A ``NumberRouter``: the application a number called from outside is routed to."""
        found = await self.directory.answering(None, dialled)
        if found is None:
            return None
        return NumberApp(found.account_id, self.application(found.account_id, found.destination), dialled)

    def application(self, account_id: str, destination: Destination) -> MediaApplication:
        """The application that handles a call sent to ``destination`` of ``account_id``."""

        async def run(call: AppCall) -> None:
            await self.follow(call, account_id, destination)

        return run

    async def follow(self, call: AppCall, account_id: str, destination: Destination | None) -> None:
        """Take the call where ``destination`` leads, through schedules and menus."""
        for _ in range(MAX_HOPS):
            if destination is None:
                return
            target = destination.target or ""
            if destination.kind is DestinationKind.SCHEDULE:
                destination = await self.directory.schedule_destination(target)
            elif destination.kind is DestinationKind.MENU:
                destination = await self.menu(call, account_id, target)
            elif destination.kind is DestinationKind.CONFERENCE:
                room = await self.directory.room(target)
                if room is not None:
                    await self.conference(call, room)
                return
            elif destination.kind is DestinationKind.MEETING:
                if self.meetings is None:  # MTG-1: Web Meeting is not configured
                    await call.play(self.directory.prompt("en", "goodbye"), interrupt=False)
                else:
                    await self.meetings.run(call, target)
                return
            elif destination.kind is DestinationKind.HANGUP:
                return
            else:
                if not await self.reach(call, account_id, destination):
                    log.info("call %s: %s could not be reached", call.call_id, destination)
                    await call.play(self.directory.prompt("en", "goodbye"), interrupt=False)
                return

    async def reach(self, call: AppCall, account_id: str, destination: Destination) -> bool:
        """Send the caller on to a user, an extension, a group, a voicemail box or an external number:
        a phone by REFER; a caller it cannot transfer (from outside, a PBX refusing) is bridged by the
        B2BUA (``app_bridge.connect``), or gets the box's deposit on this call (also when a user it
        was connected to does not answer). False: not reached."""
        dial = await self.directory.dial_string(account_id, destination, self.voicemail_code)
        if dial is None:
            return False
        if await self.transfer(call, dial):
            return True
        if destination.kind is DestinationKind.VOICEMAIL:
            return await self.leave_message(call, destination.target or "")
        if destination.kind is DestinationKind.EXTENSION and await self.room_by_extension(
            call, account_id, dial
        ):
            return True
        if await connect(call, account_id, dial):
            return True
        if destination.kind is DestinationKind.USER and not call.ended:  # no phone answered: their box
            return await self.leave_message(call, destination.target or "")
        return False

    async def room_by_extension(self, call: AppCall, account_id: str, extension: str) -> bool:
        """CFG-8: ``extension`` is one of the account's conference rooms: the caller joins it here
        (PIN, then the mix until they hang up); False when it is no room's."""
        found = await self.directory.answering(account_id, extension)
        if found is None or found.destination.kind is not DestinationKind.CONFERENCE:
            return False
        room = await self.directory.room(found.destination.target or "")
        if room is None:
            return False
        await self.conference(call, room)
        return True

    async def leave_message(self, call: AppCall, user_id: str) -> bool:
        """A caller from outside sent to a user's voicemail: the deposit runs on this call (the
        user's box, as call forwarding reaches it); False when the user has no box."""
        applications = call.call.services.applications
        divert = applications.divert if applications is not None else None
        deposit = await divert(user_id, "unavailable") if divert is not None else None
        if deposit is None:
            return False
        await deposit(call)
        return True

    async def transfer(self, call: AppCall, target: str) -> bool:
        """Blind transfer (RFC 3515): REFER the caller's phone to ``target`` (what it then dials, at
        the address it called), then hang up; False when the phone refuses or does not answer."""
        if call.account is None or call.ended:
            return False
        controller = call.call
        request_uri = controller.request.uri
        uri = SipUri(request_uri.scheme, request_uri.host, target, request_uri.password, request_uri.port)
        answered: asyncio.Future[SipResponse | None] = asyncio.get_running_loop().create_future()

        def on_response(response: SipResponse | None) -> None:
            if response is not None and response.status < 200:
                return
            if not answered.done():
                answered.set_result(response)

        sent = controller.caller_leg.send_in_dialog(
            "REFER", on_response, extra=[("Refer-To", f"<{uri}>"), ("Referred-By", f"<{uri}>")]
        )
        if sent is None:
            return False
        try:
            async with asyncio.timeout(REFER_TIMEOUT_S):
                response = await answered
        except TimeoutError:
            return False
        if response is None or not 200 <= response.status < 300:
            return False
        call.hang_up()
        return True

    async def _sound(self, account_id: str, prompt: Prompt, language: str) -> Sound:
        if prompt.sound_file_id is not None:
            path = await self.directory.sound_file(account_id, prompt.sound_file_id)
            if path is not None:
                return path
            return self.directory.prompt(language, "welcome")
        return self.directory.prompt(language, prompt.default or "welcome")

    async def menu(self, call: AppCall, account_id: str, menu_id: str) -> Destination | None:
        """Run the menu ``menu_id``; where the caller chose to go (None: the call is over)."""
        menus, extensions = await self.directory.menus(account_id)
        start = menus.get(menu_id)
        if start is None:
            return None
        machine = Attendant(start, menus, extensions.__contains__)
        actions = machine.start()
        while actions:
            following = []
            for action in actions:
                if isinstance(action, Play):
                    sounds = [await self._sound(account_id, p, action.language) for p in action.prompts]
                    key = await call.play(*sounds)
                    following = machine.digit(call.digits.popleft()) if key else machine.prompt_finished()
                elif isinstance(action, StartTimer):
                    got = await call.collect(1, timeout_s=action.ms / 1000, end="")
                    following = machine.digit(got) if got else machine.timeout(action.token)
                elif isinstance(action, Transfer):
                    return action.destination
                elif isinstance(action, Hangup):
                    return None
                elif isinstance(action, StopPlaying):
                    continue  # ``play`` stopped at the key already
            actions = following
        return None

    async def conference(self, call: AppCall, room: ConferenceRoom) -> None:
        """CFG-8: the PIN, then the room's mix until the caller hangs up or is kicked."""
        if self.mixer is None:
            log.warning("call %s: conference rooms need the embedded media engine", call.call_id)
            await call.play(self.directory.prompt("en", "goodbye"), interrupt=False)
            return
        role: JoinRole | None = JoinRole.PARTICIPANT
        if room.has_pin or room.has_moderator_pin:
            role = None
            for _ in range(PIN_TRIES):
                await call.play(self.directory.prompt("en", "conference_pin"))
                entered = await call.collect(12, timeout_s=PIN_TIMEOUT_S)
                role = await self.directory.join_role(room, entered) if entered else None
                if role is not None:
                    break
                await call.play(self.directory.prompt("en", "wrong_pin"), interrupt=False)
        if role is None:
            await call.play(self.directory.prompt("en", "goodbye"), interrupt=False)
            return
        account = call.account
        label = (account.caller_id_e164 or account.display_name or account.username) if account else "caller"
        key = call.call_id
        count = await self.mixer.join_conference(key, room.id, label, moderator=role is JoinRole.MODERATOR)
        recorded = f"conference-{room.id}"  # what the call recording's row names
        if count == 1 and self.recordings is not None:  # the first one in starts the room's recording
            # CFG-9: a room's mix is no one party's call: recorded when the account records every call
            path = await self.recordings.target(room.account_id, recorded)
            if path is not None:
                await self.mixer.record_conference(room.id, path)
        try:
            await self.directory.joined(room, key, label, role)
            muted = False
            while True:
                await call.collect(1, timeout_s=POLL_S, end="")  # keys do nothing in a room
                state = await self.directory.state(key)
                if state is None or state.kicked:
                    call.hang_up()
                    return
                if state.muted != muted:
                    muted = state.muted
                    await self.mixer.mute_in_conference(key, room.id, muted)
        finally:
            recording = await self.mixer.leave_conference(key, room.id)
            await self.directory.left(key)
            if recording is not None and self.recordings is not None:
                await self.recordings.stored(room.account_id, recorded, recording)
