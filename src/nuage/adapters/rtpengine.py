"""The media port over rtpengine's NG control protocol (bencode over UDP), for calls at scale.

Owns the NG client (a cookie per command, replies matched by cookie, a timeout
per command) and ``RtpengineMediaEngine``, which maps ``MediaPort`` onto NG commands: offer, answer,
delete, query, play media, play DTMF, start/stop recording. The caller's leg is the from-tag
``caller``, the callee's the to-tag ``callee``. rtpengine reports no events over NG, so the adapter
derives them: digits from the daemon's DTMF log (``--dtmf-log-dest`` pointed at ``dtmf_listen``),
stream start and media timeouts by polling ``query``. Recordings use ``--recording-method=pcap``;
at stop the adapter turns the call's pcap into the same stereo FLAC as the embedded engine, in a
thread.

The daemon must run with ``--endpoint-learning=immediate`` (otherwise it keeps learning sources for
its first seconds and ``strict source`` lets strangers through), ``--dtmf-log-dest`` for digits and
``--recording-method=pcap --recording-dir`` for recordings; ``--delete-delay=0`` frees ports at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from nuage.adapters.bencode import Bencodable, BencodeError, bdecode, bencode
from nuage.media import player
from nuage.media.pcap import pcap_to_flac
from nuage.media.rtcp import e_model
from nuage.media.sdp import audio_stream
from nuage.sip.media import (
    CallQuality,
    DtmfReceived,
    EventSink,
    MediaError,
    MediaEvent,
    MediaTimeout,
    MediaUnavailable,
    Recording,
    Side,
    StreamQuality,
    StreamStarted,
    Tone,
    UnknownSession,
    UnsupportedMedia,
)

TAGS = {Side.CALLER: "caller", Side.CALLEE: "callee"}


class RtpengineError(MediaError):
    """rtpengine answered a command with ``result: error``."""


class _NgProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.pending: dict[bytes, asyncio.Future[Any]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        cookie, _, payload = data.partition(b" ")
        future = self.pending.pop(cookie, None)
        if future is None or future.done():
            return
        try:
            future.set_result(bdecode(payload))
        except BencodeError as exc:
            future.set_exception(MediaUnavailable(f"rtpengine sent an undecodable reply: {exc}"))


class _DtmfLog(asyncio.DatagramProtocol):
    def __init__(self, on_event: Any) -> None:
        self.on_event = on_event

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(ValueError):
            self.on_event(json.loads(data))


class NgClient:
    """Commands to one rtpengine over UDP, each with its cookie and a reply timeout."""

    def __init__(self, address: tuple[str, int], timeout_s: float = 2.0) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._protocol = _NgProtocol()
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self) -> None:
        """Open the UDP socket towards the daemon."""
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self._protocol, remote_addr=self.address
        )

    def close(self) -> None:
        """Close the socket."""
        if self._transport is not None:
            self._transport.close()

    async def command(self, name: str, **arguments: Bencodable) -> dict[str, Any]:
        """Send one command; its reply, or RtpengineError / MediaUnavailable (no reply in time)."""
        if self._transport is None:
            raise MediaUnavailable("the NG client is not open")
        cookie = secrets.token_hex(8).encode()
        message: dict[str, Any] = {"command": name}
        message.update({key.replace("_", "-"): value for key, value in arguments.items()})
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._protocol.pending[cookie] = future
        datagram = cookie + b" " + bencode(message)
        self._transport.sendto(datagram)
        # UDP: a datagram or its reply can be lost, or the daemon slow; the same cookie is sent
        # again (rtpengine answers a repeated cookie from its cache, never twice in effect)
        wait = self.timeout_s / 4
        try:
            async with asyncio.timeout(self.timeout_s):  # wait_for may swallow a cancel on 3.11
                while True:
                    done, _ = await asyncio.wait({future}, timeout=wait)
                    if done:
                        reply = future.result()
                        break
                    self._transport.sendto(datagram)
        except TimeoutError:
            raise MediaUnavailable(f"rtpengine did not answer {name!r} within {self.timeout_s:g} s") from None
        finally:
            self._protocol.pending.pop(cookie, None)
        if not isinstance(reply, dict):
            raise MediaUnavailable("rtpengine sent a reply that is not a dictionary")
        if reply.get("result") == "error":
            raise RtpengineError(
                f"rtpengine refused {name!r}: {reply.get('error-reason', 'no reason given')}"
            )
        return reply


class _Call:
    def __init__(self) -> None:
        self.started: set[Side] = set()
        self.timed_out: set[Side] = set()
        self.recording_since: float | None = None
        self.recording_path: Path | None = None


class RtpengineMediaEngine:
    """``MediaPort`` driving one rtpengine (userspace forwarding, ``--table=-1``)."""

    def __init__(
        self,
        ng: tuple[str, int],
        *,
        dtmf_listen: tuple[str, int] | None = None,
        recording_dir: Path | None = None,
        timeout_s: float = 30.0,
        poll_s: float = 0.5,
        command_timeout_s: float = 2.0,
    ) -> None:
        self.client = NgClient(ng, command_timeout_s)
        self.dtmf_listen = dtmf_listen
        self.recording_dir = recording_dir
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._calls: dict[str, _Call] = {}
        self._sinks: list[EventSink] = []
        self._dtmf: asyncio.DatagramTransport | None = None
        self._poller: asyncio.Task[None] | None = None
        self._closing = False
        self._scratch = tempfile.TemporaryDirectory(prefix="nuage-media-")

    async def open(self) -> None:
        """Connect to the daemon, listen for its DTMF log, start polling the calls."""
        await self.client.open()
        await self.client.command("ping")
        if self.dtmf_listen is not None:
            loop = asyncio.get_running_loop()
            self._dtmf, _ = await loop.create_datagram_endpoint(
                lambda: _DtmfLog(self._on_dtmf), local_addr=self.dtmf_listen
            )
        self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def close(self) -> None:
        """Delete every call, stop polling, close the sockets."""
        self._closing = True
        for call_id in list(self._calls):
            with contextlib.suppress(MediaError):
                await self.release(call_id)
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._dtmf is not None:
            self._dtmf.close()
        self.client.close()
        await asyncio.to_thread(self._scratch.cleanup)

    def subscribe(self, sink: EventSink) -> None:
        """Deliver every call's events to ``sink``."""
        self._sinks.append(sink)

    def _emit(self, event: MediaEvent) -> None:
        for sink in self._sinks:
            sink(event)

    def _call(self, call_id: str) -> _Call:
        try:
            return self._calls[call_id]
        except KeyError:
            raise UnknownSession(f"no media session for call {call_id!r}") from None

    async def allocate(self, call_id: str) -> None:
        """Remember the call; rtpengine allocates its ports on the offer."""
        self._calls.setdefault(call_id, _Call())

    async def offer(self, call_id: str, sdp: bytes) -> bytes:
        """``offer`` with the codecs carried only; the callee will send to rtpengine."""
        await self.allocate(call_id)
        stream = audio_stream(sdp)
        reply = await self.client.command(
            "offer",
            call_id=call_id,
            from_tag=TAGS[Side.CALLER],
            sdp=stream.anchored(*stream.remote),
            replace=["origin", "session-connection"],
            flags=["strict source", "inject DTMF"],
            ICE="remove",
        )
        return _sdp_of(reply)

    async def answer(self, call_id: str, sdp: bytes) -> bytes:
        """``answer``; the caller will send to rtpengine."""
        self._call(call_id)
        stream = audio_stream(sdp)
        reply = await self.client.command(
            "answer",
            call_id=call_id,
            from_tag=TAGS[Side.CALLER],
            to_tag=TAGS[Side.CALLEE],
            sdp=stream.anchored(*stream.remote),
            replace=["origin", "session-connection"],
            flags=["strict source", "inject DTMF"],
            ICE="remove",
        )
        return _sdp_of(reply)

    async def play(self, call_id: str, to: Side, source: Path | Tone) -> None:
        """``play media`` (it plays to the from-tag party); a tone is a WAV written once (ringback)."""
        self._call(call_id)
        if isinstance(source, Tone):
            source = await asyncio.to_thread(player.tone_wav, Path(self._scratch.name), source)
        await self.client.command(
            "play media", call_id=call_id, from_tag=TAGS[to], file=str(source.absolute())
        )

    async def stop_playing(self, call_id: str, to: Side) -> None:
        """``stop media`` of the from-tag party."""
        self._call(call_id)
        await self.client.command("stop media", call_id=call_id, from_tag=TAGS[to])

    async def send_dtmf(self, call_id: str, to: Side, digit: str, duration_ms: int = 160) -> None:
        """``play DTMF`` names the party that sends the digit: the other side of ``to``."""
        self._call(call_id)
        await self.client.command(
            "play DTMF", call_id=call_id, from_tag=TAGS[to.other], code=digit, duration=duration_ms
        )

    async def start_recording(self, call_id: str, path: Path) -> None:
        """``start recording`` (pcap); the FLAC is made at stop."""
        call = self._call(call_id)
        if self.recording_dir is None:
            raise UnsupportedMedia("this rtpengine has no recording directory configured")
        await self.client.command("start recording", call_id=call_id)
        call.recording_since, call.recording_path = time.time(), path

    async def stop_recording(self, call_id: str) -> Recording:
        """``stop recording``, then the call's pcap becomes a stereo FLAC (in a thread)."""
        call = self._call(call_id)
        if call.recording_path is None or self.recording_dir is None:
            raise MediaError(f"call {call_id!r} is not being recorded")
        await self.client.command("stop recording", call_id=call_id)
        reply = await self.client.command("query", call_id=call_id)
        ports = {side: _ports(reply, side) for side in Side}
        path, call.recording_path = call.recording_path, None
        pcaps = self.recording_dir / "pcaps"
        return await asyncio.to_thread(
            pcap_to_flac, pcaps, call_id, {s: p[0] for s, p in ports.items()}, path
        )

    async def quality(self, call_id: str) -> CallQuality:
        """Loss and jitter from rtpengine's per-SSRC statistics, R and MOS by our E-model."""
        self._call(call_id)
        return _quality(await self.client.command("query", call_id=call_id))

    async def release(self, call_id: str) -> CallQuality:
        """``query`` for the last figures, then ``delete``."""
        call = self._call(call_id)
        if call.recording_path is not None:
            await self.stop_recording(call_id)
        figures = _quality(await self.client.command("query", call_id=call_id))
        del self._calls[call_id]
        await self.client.command("delete", call_id=call_id)
        return figures

    def _on_dtmf(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        call_id = event.get("callid")
        side = {tag: s for s, tag in TAGS.items()}.get(event.get("source_tag", ""))
        if call_id in self._calls and side is not None:
            digit = str(event.get("event", ""))
            digit = {"10": "*", "11": "#", "12": "A", "13": "B", "14": "C", "15": "D"}.get(digit, digit)
            self._emit(DtmfReceived(call_id, side, digit, int(event.get("duration", 0))))

    async def _poll(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.poll_s)
            for call_id, call in list(self._calls.items()):
                try:
                    reply = await self.client.command("query", call_id=call_id)
                except MediaError:
                    continue
                now = time.time()
                for side in Side:
                    last = _last_packet(reply, side)
                    if last is None:
                        continue
                    if side not in call.started:
                        call.started.add(side)
                        self._emit(StreamStarted(call_id, side, _endpoint(reply, side)))
                    idle = now - last
                    if idle >= self.timeout_s and side not in call.timed_out:
                        call.timed_out.add(side)
                        self._emit(MediaTimeout(call_id, side, round(idle, 3)))
                    elif idle < self.timeout_s:
                        call.timed_out.discard(side)


def _sdp_of(reply: dict[str, Any]) -> bytes:
    body = reply.get("sdp")
    if isinstance(body, str | bytes):
        return body.encode() if isinstance(body, str) else body
    raise MediaUnavailable("rtpengine replied without an SDP")


def _stream(reply: dict[str, Any], side: Side) -> dict[str, Any]:
    tag = reply.get("tags", {}).get(TAGS[side], {})
    for media in tag.get("medias", []):
        for stream in media.get("streams", []):
            return dict(stream)
    return {}


def _last_packet(reply: dict[str, Any], side: Side) -> float | None:
    stream = _stream(reply, side)
    packets = stream.get("stats", {}).get("packets", 0)
    last = stream.get("last packet")
    return float(last) if packets and last else None


def _endpoint(reply: dict[str, Any], side: Side) -> tuple[str, int]:
    endpoint = _stream(reply, side).get("endpoint", {})
    return str(endpoint.get("address", "")), int(endpoint.get("port", 0))


def _ports(reply: dict[str, Any], side: Side) -> tuple[int, int]:
    """(the phone's port, rtpengine's local port) of a side's stream."""
    return _endpoint(reply, side)[1], int(_stream(reply, side).get("local port", 0))


def _quality(reply: dict[str, Any]) -> CallQuality:
    """Packets from the streams' counters; loss and jitter from the SSRC statistics rtpengine keeps
    from the RTCP receiver reports it relays (absent until reports with a round-trip time arrive)."""
    reports = reply.get("SSRC", {})
    per_side = {}
    for side in Side:
        stream = _stream(reply, side)
        packets = int(stream.get("stats", {}).get("packets", 0))
        entry = reports.get(str(stream.get("SSRC", "")), {})
        average = entry.get("average MOS", {}) if isinstance(entry, dict) else {}
        lost = int(entry.get("cumulative loss", 0)) if isinstance(entry, dict) else 0
        per_side[side] = StreamQuality(packets, lost, float(average.get("jitter", 0)))
    loss = max(s.loss_fraction for s in per_side.values())
    r, mos = e_model(loss, max(s.jitter_ms for s in per_side.values()))
    return CallQuality(per_side[Side.CALLER], per_side[Side.CALLEE], round(r, 1), round(mos, 2))
