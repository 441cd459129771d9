"""Anchoring a call's media through the media port (issue #15): when, the SDP rewriting, release.

Owns the decision to anchor (the operator's "always anchor" setting, or a NAT'd caller: the
address its SDP names is not the one its packets come from, so only symmetric RTP from a port we
own can reach it), the rewriting of every SDP a call carries once anchored (the INVITE's offer,
a 183's or 200's answer, the offers and answers of re-INVITEs and UPDATEs, from either side), and
the session's release when the call ends, and the call's recordings (CFG-9: started and stopped as
the account's choice selects who is on the call, ``record``; which parties those are is
``nuage.sip.b2bua.recording``'s). A call that is not anchored keeps its SDP untouched.

An engine's error becomes a SIP answer with a Warning (RFC 3261 §20.43 codes): a body that does not
parse 400 (399), no codec carried 488 (305 "Incompatible media format"), an engine that did not
answer or has no free port 503 (399).

The media port is asymmetric (``offer`` takes the caller's SDP, ``answer`` the callee's); here an
SDP is rewritten by the side that sent it, whatever its role in the offer/answer exchange: what the
caller sends goes through ``offer`` (the callee is then told to send to the engine), what the
callee sends through ``answer``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mypy_extensions import mypyc_attr

from nuage.directory.recording import CallParties, records_call
from nuage.sip.b2bua.events import Fail
from nuage.sip.media import (
    CallQuality,
    CallRecordings,
    HoldMusic,
    HoldTrack,
    MalformedSdp,
    MediaError,
    MediaEvent,
    MediaPort,
    MediaTimeout,
    Side,
    UnknownSession,
    UnsupportedMedia,
)
from nuage.sip.message import SipRequest
from nuage.sip.ports import CdrRecord

if TYPE_CHECKING:
    from nuage.sip.b2bua.legs import Leg
    from nuage.sip.transactions import ServerTransaction

log = logging.getLogger("nuage.sip.media")


@dataclass(frozen=True, slots=True)
class AnchorSettings:
    """When calls are anchored: ``always`` (the operator's setting), or a NAT'd caller (``nat``)."""

    always: bool = False
    nat: bool = True


class MediaEvents:
    """Routes the engine's events to the call each concerns (subscribed once, at the first call)."""

    def __init__(self) -> None:
        self.calls: dict[str, Callable[[MediaEvent], None]] = {}
        self._subscribed: set[int] = set()

    def watch(self, port: MediaPort, call_id: str, handler: Callable[[MediaEvent], None]) -> None:
        """Hand the events of ``call_id`` to ``handler`` until ``forget``."""
        if id(port) not in self._subscribed:
            self._subscribed.add(id(port))
            port.subscribe(self)
        self.calls[call_id] = handler

    def forget(self, call_id: str) -> None:
        """The call ended: its events go nowhere."""
        self.calls.pop(call_id, None)

    def __call__(self, event: MediaEvent) -> None:
        handler = self.calls.get(event.call_id)
        if handler is not None:
            handler(event)


@dataclass(frozen=True, slots=True)
class MediaServices:
    """What anchoring needs from the server: the engine, when to anchor, where recordings go."""

    port: MediaPort
    anchor: AnchorSettings = AnchorSettings()
    recordings: CallRecordings | None = None  # CFG-9 (None: no call is recorded)
    hold_music: Path | None = None  # what a held party hears (None: silence)
    hold_music_s: float = 30.0  # the music's length: it is played again after this long
    events: MediaEvents = dataclasses.field(default_factory=MediaEvents)
    accounts_music: HoldMusic | None = None  # the music accounts chose (None: the default for all)

    async def hold_track(self, account_id: str | None, call_id: str) -> HoldTrack | None:
        """What a held party of ``account_id``'s call hears: the account's music on hold, else the
        default (None: silence). An account's choice that cannot be read leaves the default."""
        if self.accounts_music is not None and account_id is not None:
            try:
                track = await self.accounts_music.track_of(account_id)
            except Exception:
                log.exception(
                    "the music on hold of %s could not be read; call %s hears the default",
                    account_id,
                    call_id,
                )
                track = None
            if track is not None:
                return track
        return HoldTrack(self.hold_music, self.hold_music_s) if self.hold_music is not None else None


def sdp_address(body: bytes) -> str | None:
    """The first c= address of an SDP body (None: no SDP or no c= line)."""
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("c=IN IP"):
            parts = line.split()
            return parts[2] if len(parts) >= 3 else None
    return None


def holds(sdp: bytes) -> bool:
    """RFC 3264 §8.4: whether an SDP puts the other side on hold (``sendonly`` or ``inactive``, or
    RFC 2543's ``c=IN IP4 0.0.0.0``)."""
    lines = {line.strip() for line in sdp.decode("utf-8", "replace").splitlines()}
    return bool(lines & {"a=sendonly", "a=inactive", "c=IN IP4 0.0.0.0"})


def behind_nat(request: SipRequest, source_host: str) -> bool:
    """Whether the caller is a phone behind NAT: its SDP names a private address (RFC 1918 and the
    like) its packets do not come from, so its media can only be reached by latching (symmetric
    RTP). A public media address other than the signalling one (a carrier's media gateway) is not."""
    address = sdp_address(request.body)
    if address is None or address == source_host:
        return False
    try:
        named = ipaddress.ip_address(address)
    except ValueError:
        return False  # a host name in c=: nothing says it is unreachable
    return named.is_private and not named.is_unspecified  # 0.0.0.0 is the old way to say "hold"


def needs_anchor(settings: AnchorSettings, request: SipRequest, source_host: str) -> bool:
    """Whether a new call's media goes through the engine (it carries an offer, and a reason)."""
    if not request.body or b"RTP/SAVP" in request.body:
        return False  # a delayed offer, or SRTP (keyed end to end between TLS legs), passes untouched
    return settings.always or (settings.nat and behind_nat(request, source_host))


def media_failure(exc: MediaError, host: str) -> Fail:
    """The SIP answer for an engine's error: status, reason and a Warning saying why."""
    text = str(exc).replace("\\", "\\\\").replace('"', '\\"')
    if isinstance(exc, MalformedSdp):
        return Fail(400, "Bad Request", f'399 {host} "malformed SDP: {text}"')
    if isinstance(exc, UnsupportedMedia):
        return Fail(488, "Not Acceptable Here", f'305 {host} "{text}"')
    return Fail(503, "Service Unavailable", f'399 {host} "media unavailable: {text}"')


def with_quality(record: CdrRecord, quality: CallQuality) -> CdrRecord:
    """The CDR with the call's media quality: the worse stream's loss (%) and jitter, the MOS."""
    streams = (quality.caller, quality.callee)
    loss = max(stream.loss_fraction for stream in streams)
    return dataclasses.replace(
        record,
        loss_percent=round(100 * loss, 2),
        jitter_ms=round(max(stream.jitter_ms for stream in streams), 2),
        mos=round(quality.mos, 2),
    )


class MediaUnavailableAfterEnd(MediaError):
    """The call ended while its SDP was being rewritten (nothing is sent on)."""


_running: set[asyncio.Task[None]] = set()


def spawn(
    work: Coroutine[Any, Any, None],
    answering: ServerTransaction | None = None,
    reinvited: Leg | None = None,
) -> None:
    """Run a call's step in the background (kept referenced until done, errors logged). The request
    it acts on (``answering``) gets a 500 when the step fails before answering it: a REFER or a
    re-INVITE is never left for its sender to retransmit until it gives up; a re-INVITE of
    ``reinvited`` so refused is over, and the leg takes the next one."""
    task = asyncio.get_running_loop().create_task(work)
    _running.add(task)
    if answering is None:
        task.add_done_callback(_finished)
    else:
        task.add_done_callback(lambda done: _finished(done, answering, reinvited))


def _finished(
    task: asyncio.Task[None], answering: ServerTransaction | None = None, reinvited: Leg | None = None
) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("call step failed", exc_info=task.exception())
        if answering is not None and not answering.finally_answered:
            answering.reply(500)
            if reinvited is not None:
                reinvited.incoming_reinvite_done()


@dataclass(frozen=True, slots=True)
class AccountRecording:
    """CFG-9: the account whose choice decides whether a call is recorded, and where recordings go."""

    recordings: CallRecordings
    account_id: str


async def account_recording(
    media: MediaServices, account_id: str | None, call_id: str
) -> AccountRecording | None:
    """CFG-9: the account's recordings when it records any of its calls (the call is then anchored,
    so that a recording can start once its parties are known); None when it records none, or its
    setting could not be read (the call goes on unrecorded)."""
    recordings = media.recordings
    if recordings is None or account_id is None:
        return None
    try:
        rule = await recordings.rule(account_id)
    except Exception:
        log.exception(
            "CFG-9: the recording setting of %s could not be read; call %s not recorded", account_id, call_id
        )
        return None
    return AccountRecording(recordings, account_id) if rule.active else None


@mypyc_attr(allow_interpreted_subclasses=True)  # media applications extend it (b2bua.apps)
class CallMedia:
    """One anchored call's session on the media port, named by the caller's Call-ID; recorded
    while its account's choice selects who is on it (CFG-9)."""

    def __init__(
        self,
        services: MediaServices,
        call_id: str,
        recording: AccountRecording | None = None,
        account_id: str | None = None,
    ) -> None:
        self.port = services.port
        self.services = services
        self.call_id = call_id
        self.account_id = account_id  # whose music on hold a held party hears
        self.recording = recording
        self._recording = False
        self._recorder = asyncio.Lock()  # recordings start and stop in the order asked
        self._music: dict[Side, asyncio.Task[None]] = {}  # the held side's music on hold
        self.paused = False  # a transfer is joining a new party: a silent side is not a dead call

    def take_request(self, leg: Leg, tx: ServerTransaction) -> bool:
        """Whether the session's owner answers this in-dialog request itself (an application's own
        offer: ``nuage.sip.b2bua.apps``); False: the call relays it."""
        return False

    def watch(self, on_stream_stopped: Callable[[], None]) -> None:
        """Call ``on_stream_stopped`` when a phone's stream stops (but not while a party is on hold:
        a held phone may stop sending)."""

        def handle(event: MediaEvent) -> None:
            if isinstance(event, MediaTimeout) and not self._music and not self.released and not self.paused:
                log.info(
                    "call %s: the %s's media stopped %.1f s ago", self.call_id, event.side.value, event.idle_s
                )
                on_stream_stopped()

        self.services.events.watch(self.port, self.call_id, handle)
        self.released = False
        self.quality: CallQuality | None = None
        self._order = asyncio.Lock()  # rewrites apply in the order the SDPs came

    async def rewrite(self, side: Side, sdp: bytes) -> bytes:
        """The SDP ``side`` sent, pointing the other side at the engine (empty bodies pass)."""
        if not sdp:
            return sdp
        async with self._order:
            if side is Side.CALLER:
                rewritten = await self.port.offer(self.call_id, sdp)
            else:
                rewritten = await self.port.answer(self.call_id, sdp)
            if self.released:  # the call ended while the engine allocated: free what it bound
                await self._free()
                raise MediaUnavailableAfterEnd(f"call {self.call_id!r} ended while its media was set up")
            self._hold_or_resume(side, sdp)
        return rewritten

    def _hold_or_resume(self, side: Side, sdp: bytes) -> None:
        """``side`` put the other on hold (it hears music from the engine) or took it off hold."""
        held = side.other
        if holds(sdp):
            plays = self.services.hold_music is not None or self.services.accounts_music is not None
            if held not in self._music and plays:
                self._music[held] = asyncio.get_running_loop().create_task(self._play_music(held))
                log.info("call %s: the %s is on hold", self.call_id, held.value)
            return
        task = self._music.pop(held, None)
        if task is not None:
            task.cancel()
            spawn(self._stop_music(held))
            log.info("call %s: the %s is off hold", self.call_id, held.value)

    async def _play_music(self, to: Side) -> None:
        """The account's music on hold (or the default) to the held side, again each time it ends."""
        track = await self.services.hold_track(self.account_id, self.call_id)
        if track is None:
            return
        while True:
            try:
                await self.port.play(self.call_id, to, track.path)
            except MediaError as exc:
                log.warning("call %s: no music on hold: %s", self.call_id, exc)
                return
            await asyncio.sleep(track.seconds)

    async def _stop_music(self, to: Side) -> None:
        try:
            await self.port.stop_playing(self.call_id, to)
        except MediaError as exc:
            log.debug("call %s: music on hold already over: %s", self.call_id, exc)

    async def record(self, parties: CallParties | None) -> None:
        """CFG-9: record both directions from now on when the account's choice selects the call as
        ``parties`` describe it now (answered, or joined by a transfer); stop when it no longer does
        (what was recorded is stored; a later change may start a new recording of the call)."""
        chosen = self.recording
        if chosen is None:
            return
        async with self._recorder:
            if self.released:
                return
            try:
                wanted = records_call(await chosen.recordings.rule(chosen.account_id), parties)
                if wanted and not self._recording:
                    path = await chosen.recordings.target(chosen.account_id, self.call_id, parties)
                    if path is not None and not self.released:
                        await self.port.start_recording(self.call_id, path)
                        self._recording = True
                elif not wanted and self._recording:
                    await self._store_recording()
            except MediaError as exc:
                log.error("CFG-9: call %s of %s not recorded: %s", self.call_id, chosen.account_id, exc)
            except Exception:
                log.exception("CFG-9: the recording of call %s was not started or stopped", self.call_id)

    async def _store_recording(self) -> None:
        plan = self.recording
        if plan is None or not self._recording:
            return
        self._recording = False
        try:
            recording = await self.port.stop_recording(self.call_id)
            await plan.recordings.stored(plan.account_id, self.call_id, recording)
        except Exception:
            log.exception("CFG-9: the recording of call %s was not stored", self.call_id)

    async def finish(self, record: CdrRecord) -> CdrRecord:
        """Release the session; ``record`` with the media's quality figures when they are known."""
        quality = await self.release()
        return record if quality is None else with_quality(record, quality)

    async def release(self) -> CallQuality | None:
        """Store the recording, then free the session once (its final quality figures, None if it
        was already gone)."""
        if self.released:
            return self.quality
        self.released = True
        self.services.events.forget(self.call_id)
        for task in self._music.values():
            task.cancel()
        self._music.clear()
        async with self._recorder:
            await self._store_recording()
        return await self._free()

    async def _free(self) -> CallQuality | None:
        try:
            self.quality = await self.port.release(self.call_id)
        except UnknownSession:
            return None
        except MediaError as exc:
            log.warning("media of call %s not released: %s", self.call_id, exc)
            return None
        return self.quality


async def drain() -> None:
    """Wait for the media steps still running (releases whose CDRs are not yet handed over)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
