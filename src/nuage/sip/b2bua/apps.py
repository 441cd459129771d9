"""Media applications: calls Nuage answers itself (voicemail, IVR, conference...), and their runtime.

Owns ``AppCall``, what an application sees of its call (play a prompt, a file or a tone; collect
DTMF digits with timeouts; record the caller; exchange raw audio with the caller, as a fax machine
does; hang up), and ``answer_with``, which answers a call as its far end and
drives an application coroutine until it returns or the caller hangs up. An application is any
``async def app(call: AppCall) -> None``::

    async def echo_digits(call: AppCall) -> None:
        await call.play(prompts / "welcome.wav")           # returns early on a digit (barge-in)
        digits = await call.collect(4, timeout_s=5)        # up to 4 digits, ``#`` ends early
        recording = await call.record(path, max_s=60)      # until ``#``, the caller hangs up, 60 s
        await call.play(Tone(440, 300), interrupt=False)

Every operation but ``record`` raises ``HungUp`` once the caller has hung up; ``record`` returns
what was recorded (hanging up is the usual way to end a voicemail). When the application returns,
the call is hung up. The call is an ordinary ``CallController`` (one CDR, max duration, release of
the media session with its quality figures), anchored on the media port the B2BUA uses: the
caller's offer goes through ``offer``; the far end is the engine itself, so the answer the engine is
given names the discard port (RFC 863) of the engine's own address, where relayed media is lost.
The engine's events for the call (DTMF from the caller, a stream that stopped) reach the
application through the server's ``MediaEvents``; a caller whose stream stops for the engine's
timeout is hung up.

How calls reach an application: a router (``AppRouter``: ``(caller's account, dialled) ->
AppDispatch | None``) appended to ``SipServer.applications`` before start is asked, in order, for
every INVITE of an authenticated phone before the dial plan (feature codes: ``*98``, ``*97``...);
``answer_with(call, app)`` answers an existing, unanswered call (call forwarding: a user's
``Applications.divert``); a carrier's call to a number routed to an application reaches it
through ``Applications.numbers``; every new call to an application is admitted by the call policy
first (``nuage.sip.b2bua.inbound_apps.answer_admitted``: CAP-3, PAY-3...), is journaled once
answered and is cut at the server's maximum application duration. Timing is the loop's: a
prompt's length is read from its file's header (or the tone's duration), and digit timeouts run on
``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import soundfile

from nuage.sip.b2bua.app_offers import OwnOffers, reoffer
from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.legs import Leg
from nuage.sip.b2bua.media import CallMedia, MediaServices, media_failure, spawn
from nuage.sip.b2bua.services import CallServices
from nuage.sip.b2bua.states import CallState
from nuage.sip.media import (
    AudioStream,
    AudioStreamPort,
    DtmfReceived,
    MediaError,
    MediaEvent,
    MediaTimeout,
    Recording,
    Side,
    SpeechChanged,
    Tone,
)
from nuage.sip.ports import CallOutcome, CdrRecord, FaxDestination, SipAccount
from nuage.sip.transactions import ServerTransaction

log = logging.getLogger("nuage.sip.apps")

Sound = Path | Tone
MediaApplication = Callable[["AppCall"], Awaitable[None]]

DISCARD_PORT = 9  # RFC 863: where the engine sends what the caller says (nobody listens)
END_GRACE_S = 30.0  # how long a hung-up application may take to finish (store what it recorded)


class HungUp(Exception):
    """The caller hung up (or the call was ended): the application should return."""


def as_wav(sound: Path) -> Path:
    """A scratch WAV copy of an audio file in another format (a FLAC recording): media ports play
    WAV files (rtpengine plays no FLAC). The caller removes it. Blocking."""
    data, rate = soundfile.read(str(sound), dtype="int16", always_2d=True)
    handle, name = tempfile.mkstemp(prefix="nuage-play-", suffix=".wav")
    os.close(handle)
    soundfile.write(name, data[:, 0], rate, subtype="PCM_16")
    return Path(name)


async def duration_of(sound: Sound) -> float:
    """How long ``sound`` plays, in seconds (a file's header is read in a thread)."""
    if isinstance(sound, Tone):
        return sound.duration_ms / 1000
    info = await asyncio.to_thread(soundfile.info, str(sound))
    return float(info.duration)


def discard_answer(offer_to_far_end: bytes) -> bytes:
    """The far end's answer to the engine's offer: the same session with its audio stream sent
    to the discard port (the engine itself is the far end; nothing listens to the relayed media)."""
    lines = []
    for line in offer_to_far_end.decode("utf-8", "replace").splitlines():
        if line.startswith("m=audio ") and not line.startswith("m=audio 0 "):
            kind, _, rest = line.partition(" ")
            line = f"{kind} {DISCARD_PORT} {rest.partition(' ')[2]}"
        lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode()


class AppCall:
    """One call answered by an application: what it may do with the caller's leg."""

    def __init__(self, call: CallController, media: CallMedia, account: SipAccount | None, dialled: str):
        self.call = call
        self.media = media
        self.account = account  # who calls, when authenticated (None: from a carrier)
        self.dialled = dialled
        self.call_id = call.call_id
        self.digits: collections.deque[str] = collections.deque()  # received, not yet collected
        self.ended = False
        self.speaking: bool | None = None  # the caller, while recorded (None: the engine did not say)
        self.far_end_offer = b""  # the engine's offer to the far end (where a far end sends to it)
        self.local_sdp = b""  # the SDP the call was last answered with (``app_offers``)
        self.rtp_optional = False  # the caller's RTP may stop: its media moved (a fax's T.38)
        self._silent_since: float | None = None  # loop time the caller fell silent
        self._speech_changes = 0
        self._wake = asyncio.Event()

    # -- events from the engine --------------------------------------------------------------
    def on_media_event(self, event: MediaEvent) -> None:
        """A digit from the caller is queued; a caller whose media stopped is hung up."""
        if isinstance(event, DtmfReceived) and event.side is Side.CALLER:
            self.digits.append(event.digit)
            self._wake.set()
        elif isinstance(event, SpeechChanged) and event.side is Side.CALLER:
            self.speaking = event.speaking
            self._silent_since = None if event.speaking else asyncio.get_running_loop().time()
            self._speech_changes += 1
            self._wake.set()
        elif isinstance(event, MediaTimeout) and event.side is Side.CALLER and not self.rtp_optional:
            log.info("call %s: the caller's media stopped %.1f s ago", self.call_id, event.idle_s)
            self.hang_up()

    def caller_left(self) -> None:
        """The call ended (the caller hung up, or the server ended it)."""
        self.ended = True
        self._wake.set()

    async def _wait(
        self, seconds: float, *, digits: str | None, until: Callable[[], bool] | None = None
    ) -> None:
        """Wait ``seconds``, or less when one of ``digits`` is queued or ``until`` holds; raise HungUp
        when the call ends."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    self._wake.clear()
                    if self.ended:
                        raise HungUp(self.call_id)
                    if digits is not None and any(d in digits for d in self.digits):
                        return
                    if until is not None and until():
                        return
                    await self._wake.wait()
        except TimeoutError:
            return

    # -- what applications do ------------------------------------------------------------------
    async def play(self, *sounds: Sound, interrupt: bool = True) -> str | None:
        """Play ``sounds`` in turn to the caller; with ``interrupt``, a digit stops them (barge-in)
        and is returned (it stays queued for ``collect``). None: everything was played."""
        anything = "0123456789*#ABCD" if interrupt else None
        for sound in sounds:
            if interrupt and self.digits:
                return self.digits[0]
            if self.ended:
                raise HungUp(self.call_id)
            scratch = None
            try:
                length = await duration_of(sound)
                if isinstance(sound, Path) and sound.suffix.lower() != ".wav":
                    sound = scratch = await asyncio.to_thread(as_wav, sound)
                await self.media.port.play(self.call_id, Side.CALLER, sound)
                await self._wait(length, digits=anything)
            except (OSError, RuntimeError, MediaError) as exc:
                log.warning("call %s: cannot play %s: %s", self.call_id, sound, exc)
                continue
            finally:
                if scratch is not None:
                    await asyncio.to_thread(scratch.unlink, missing_ok=True)
            if interrupt and self.digits:
                await self._stop_playing()
                return self.digits[0]
        return None

    async def _stop_playing(self) -> None:
        try:
            await self.media.port.stop_playing(self.call_id, Side.CALLER)
        except MediaError as exc:
            log.debug("call %s: nothing to stop: %s", self.call_id, exc)

    async def collect(self, max_digits: int, *, timeout_s: float, end: str = "#") -> str:
        """Up to ``max_digits`` digits (those typed during a prompt first); a digit in ``end`` ends
        early (not returned), ``timeout_s`` without a new digit too. Raises HungUp."""
        got = ""
        while len(got) < max_digits:
            if not self.digits:
                await self._wait(timeout_s, digits="0123456789*#ABCD")
                if not self.digits:
                    break
            digit = self.digits.popleft()
            if digit in end:
                break
            got += digit
        return got

    def _speech_watch(self) -> Callable[[], bool]:
        """Whether the caller started or stopped speaking since this was made."""
        changes = self._speech_changes
        return lambda: self._speech_changes != changes

    def flush(self) -> None:
        """Forget the digits typed and not collected yet."""
        self.digits.clear()

    async def record(
        self, path: Path, *, max_s: float, stop: str = "#", silence_s: float | None = None
    ) -> Recording | None:
        """Record the caller into ``path`` until a digit in ``stop``, ``max_s`` seconds, ``silence_s``
        seconds of silence after speech stopped (engines that report speech: the embedded one) or the
        end of the call (never raises HungUp: a message ends with a hang-up). None: it could not."""
        self.flush()
        if self.ended:
            return None
        try:
            await self.media.port.start_recording(self.call_id, path)
        except MediaError as exc:
            log.error("call %s: cannot record: %s", self.call_id, exc)
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        with contextlib.suppress(HungUp):
            while not any(d in stop for d in self.digits):
                until = deadline
                if silence_s is not None and self.speaking is False and self._silent_since is not None:
                    until = min(until, self._silent_since + silence_s)
                if loop.time() >= until:
                    break
                await self._wait(until - loop.time(), digits=stop, until=self._speech_watch())
        for digit in stop:
            while digit in self.digits:
                self.digits.remove(digit)
        try:
            return await self.media.port.stop_recording(self.call_id)
        except MediaError as exc:
            log.error("call %s: the recording was lost: %s", self.call_id, exc)
            return None

    async def exchange_audio(
        self, stream: AudioStream, *, max_s: float, done: Callable[[], bool], poll_s: float = 0.1
    ) -> bool:
        """Exchange raw audio with the caller (a fax machine: ``AudioStream``) until ``done()``
        (checked every ``poll_s``), ``max_s`` seconds or the end of the call; never raises HungUp
        (a fax ends with a hang-up). False: the media port carries no raw audio (rtpengine)."""
        port = self.media.port
        if self.ended:
            return True
        if not isinstance(port, AudioStreamPort):
            log.error(
                "call %s: the media engine carries no raw audio (fax needs the embedded one)", self.call_id
            )
            return False
        await port.stream_audio(self.call_id, Side.CALLER, stream)
        try:
            await self.wait_until(done, max_s=max_s, poll_s=poll_s)
        finally:
            with contextlib.suppress(MediaError):
                await port.stop_audio(self.call_id, Side.CALLER)
        return True

    async def wait_until(self, done: Callable[[], bool], *, max_s: float, poll_s: float = 0.1) -> None:
        """Wait until ``done()`` (checked every ``poll_s``), ``max_s`` seconds or the end of the call
        (never raises HungUp)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        with contextlib.suppress(HungUp):
            while not done() and loop.time() < deadline:
                await self._wait(min(poll_s, deadline - loop.time()), digits=None)

    def auth_failed(self) -> None:
        """SIP-5: a wrong secret typed on the keypad (a PIN) counts as an authentication failure of
        the caller's address, like a wrong digest: enough of them ban it."""
        report = self.call.services.on_auth_failure
        if report is not None:
            report(self.call.caller_leg.tx.source.host)

    def hang_up(self) -> None:
        """End the call now (BYE to the caller); the application's next wait raises HungUp."""
        self.ended = True
        self._wake.set()
        self.call.abort(200, "application done")


class AppMedia(CallMedia):
    """The media session of an application's call: released only once the application is done."""

    def __init__(self, services: MediaServices, call_id: str) -> None:
        super().__init__(services, call_id)
        self.watch(lambda: None)  # the session's bookkeeping; events go to the application below
        self.app: AppCall | None = None
        self.task: asyncio.Task[None] | None = None
        self.own: OwnOffers | None = None  # the application, when it answers some offers itself

    def attach(self, app: AppCall) -> None:
        """Hand the engine's events for this call to ``app``."""
        self.app = app
        self.services.events.watch(self.port, self.call_id, app.on_media_event)

    def take_request(self, leg: Leg, tx: ServerTransaction) -> bool:
        """A re-INVITE of the caller offering what the application answers itself (``reoffer``)."""
        app, own, body = self.app, self.own, tx.request.body
        if app is None or own is None or tx.request.method != "INVITE" or leg is not app.call.caller_leg:
            return False
        if not body or not own.takes(body):
            return False
        spawn(reoffer(app, own, leg, tx), answering=tx, reinvited=leg)
        return True

    async def finish(self, record: CdrRecord) -> CdrRecord:
        """The call ended: tell the application, let it finish (bounded), then release."""
        if self.app is not None:
            self.app.caller_left()
        task = self.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            try:
                async with asyncio.timeout(END_GRACE_S):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
            except Exception:  # the application's own failure is logged by its runner
                pass
        return await super().finish(record)


@dataclass(frozen=True, slots=True)
class AppDispatch:
    """An application to run for a dialled string, and what the CDR shows as called."""

    app: MediaApplication
    shown_callee: str


AppRouter = Callable[[SipAccount, str], Awaitable[AppDispatch | None]]
"""What a phone dialled may start: a feature code's application (None: not this router's)."""

Divert = Callable[[str, str], Awaitable[MediaApplication | None]]
"""Where a call to a user goes when the user is busy, does not answer or is not registered, given
``(user_id, reason)`` (``busy`` or ``unavailable``): an application to ``answer_with`` (voicemail's
``Voicemail.for_user``), or None (the user has none)."""


FaxAnswer = Callable[[FaxDestination], Awaitable[MediaApplication | None]]
"""The application that answers a number leading to a virtual fax (CFG-7), or None (no fax here)."""


@dataclass(frozen=True, slots=True)
class NumberApp:
    """The application a platform number is routed to, and the account the number belongs to."""

    account_id: str
    app: MediaApplication
    shown_callee: str


NumberRouter = Callable[[str], Awaitable[NumberApp | None]]
"""What answers a platform number called from the public network (a carrier): None, not routed."""


class Applications(list[AppRouter]):
    """A server's media applications: the routers feature codes start them by, ``divert``, the
    application a call to a user who does not answer is sent to (set by voicemail; None: none),
    ``fax``, the one a number leading to a virtual fax is answered by (None: such calls get 404),
    and ``numbers``, what answers a number called from outside (set by the auto-attendant)."""

    divert: Divert | None = None
    fax: FaxAnswer | None = None
    numbers: NumberRouter | None = None


async def dispatch(services: CallServices, account: SipAccount, dialled: str) -> AppDispatch | None:
    """The first application the server's routers start for ``dialled`` (None: a destination)."""
    for router in list(services.applications or ()):
        found = await router(account, dialled)
        if found is not None:
            return found
    return None


async def answer_with(call: CallController, app: MediaApplication) -> None:
    """Answer ``call``'s caller (not answered yet) as the far end and run ``app`` until it returns
    or the caller hangs up: what a forwarding rule calls to send a caller to voicemail. A media
    session the call had (anchored to a callee) is released first.

    No media engine configured: 503; an INVITE without an offer: 488 (an application needs the
    caller's offer to answer); the engine's errors as the B2BUA answers them (400/488/503).
    """
    services = call.services
    offer = call.request.body
    if services.media is None or not offer:
        call.finish_early(503 if services.media is None else 488, CallOutcome.FAILED)
        return
    if call.media is not None:
        await call.media.release()
    media = AppMedia(services.media, call.call_id)
    call.media = media
    session = AppCall(call, media, call.account, call.request.uri.user or "")
    media.own = app if isinstance(app, OwnOffers) else None
    try:
        if media.own is not None and media.own.takes(offer):  # its own media (T.38): no engine session
            answer = await media.own.negotiate(session, offer)
        else:
            session.far_end_offer = await media.rewrite(Side.CALLER, offer)
            answer = await media.rewrite(Side.CALLEE, discard_answer(session.far_end_offer))
    except MediaError as exc:
        if call.state is not CallState.DEAD:
            failure = media_failure(exc, services.settings.domain)
            call.caller_leg.send(failure)  # with its Warning; the leg is closed then
            call.finish_early(failure.status, CallOutcome.FAILED)
        await media.release()
        return
    session.local_sdp = answer
    media.attach(session)
    if call.caller_leg.cancelled:
        call.caller_leg.on_cancel()
        return
    call.answer_feature(answer, (), hang_up_on_ack=False)
    media.task = asyncio.current_task()
    try:
        await app(session)
    except HungUp:
        pass
    except Exception:
        log.exception("call %s: the application failed", call.call_id)
    if not session.ended and call.state is CallState.CONNECTED and call.transfer is None:
        session.hang_up()  # (a caller the application connected onwards stays: ``app_bridge``)
