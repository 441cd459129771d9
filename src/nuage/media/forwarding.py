"""The engine's side of the media forwarders: starts and watches their processes, hands them
sessions and takes them back (issue #15).

Owns the control channel to each forwarder process (``forwarder.py``): a unix SOCK_SEQPACKET pair,
one JSON object per datagram, the legs' sockets passed as file descriptors (SCM_RIGHTS). Nothing
here blocks the loop: the channel is non-blocking (what does not fit waits for it to be writable),
requests are answered through futures with a deadline, and the forwarder's events (a stream
started, a digit, a timeout) reach the engine from the loop's reader callback. A forwarder whose
process exits is restarted (after a pause that grows while it keeps failing); the sessions it
carried come back to the engine, which still holds their sockets, so their media goes on in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import nuage
from nuage.sip.media import MediaError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0  # a loaded machine starts a Python process slowly
REPLY_TIMEOUT_S = 10.0
CONTROL_BYTES = 65536
RESTART_PAUSE_S = (0.5, 30.0)  # first pause before a restart, and the longest

EventHandler = Callable[[int, dict[str, Any]], None]  # (session id, event)


class ForwarderLost(MediaError):
    """The forwarder process is gone (or never answered): its sessions come back in process."""


class Forwarder:
    """One forwarder process and its control channel."""

    def __init__(self, index: int, on_event: EventHandler, on_lost: Callable[[Forwarder], None]) -> None:
        self.index = index
        self.on_event = on_event
        self.on_lost = on_lost
        self.sessions: set[int] = set()
        self.alive = False
        self.pid: int | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._channel: socket.socket | None = None
        self._outbox: deque[tuple[bytes, Sequence[int]]] = deque()
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ready: asyncio.Future[None] | None = None
        self._ids = itertools.count(1)
        self._exit: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the process and wait until it says it is ready (ForwarderLost when it does not)."""
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        package_root = str(Path(nuage.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "nuage.media.forwarder", str(theirs.fileno()),
                pass_fds=(theirs.fileno(),), env=env, stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as exc:
            ours.close()
            raise ForwarderLost(f"media forwarder not started: {exc}") from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        self._channel, self.pid = ours, self._process.pid
        self._ready = loop.create_future()
        loop.add_reader(ours.fileno(), self._readable)
        self._exit = loop.create_task(self._watch(self._process))
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                await self._ready
        except (TimeoutError, ForwarderLost) as exc:
            await self.stop()
            raise ForwarderLost(f"media forwarder {self.index} did not start") from exc
        self.alive = True

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        if self.alive or (self._ready is not None and not self._ready.done()):
            log.error("media forwarder %d (pid %s) exited with %s", self.index, process.pid, code)
            self._lost()

    def send(self, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
        """Queue ``message`` (with ``fds``, the sockets it hands over) without ever blocking."""
        if self._channel is None:
            raise ForwarderLost(f"media forwarder {self.index} is not running")
        data = json.dumps(message, separators=(",", ":")).encode()
        if not self._outbox and self._try_send(data, fds):
            return
        if not self._outbox:
            asyncio.get_running_loop().add_writer(self._channel.fileno(), self._writable)
        self._outbox.append((data, fds))

    def _try_send(self, data: bytes, fds: Sequence[int]) -> bool:
        assert self._channel is not None
        try:
            if fds:
                socket.send_fds(self._channel, [data], list(fds))
            else:
                self._channel.send(data)
        except BlockingIOError:
            return False
        except OSError as exc:
            self._lost()
            raise ForwarderLost(f"media forwarder {self.index}: {exc}") from exc
        return True

    def _writable(self) -> None:
        while self._outbox and self._channel is not None:
            data, fds = self._outbox[0]
            try:
                if not self._try_send(data, fds):
                    return
            except ForwarderLost:
                return
            self._outbox.popleft()
        if self._channel is not None:
            asyncio.get_running_loop().remove_writer(self._channel.fileno())

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send ``message`` and wait for its answer (ForwarderLost when the forwarder is gone)."""
        if not self.alive:
            raise ForwarderLost(f"media forwarder {self.index} is not running")
        request_id = next(self._ids)
        future = self._replies[request_id] = asyncio.get_running_loop().create_future()
        try:
            self.send({**message, "id": request_id})
            async with asyncio.timeout(REPLY_TIMEOUT_S):
                reply: dict[str, Any] = await future
        except TimeoutError:
            raise ForwarderLost(f"media forwarder {self.index} did not answer") from None
        finally:
            self._replies.pop(request_id, None)
        if "error" in reply:
            raise MediaError(f"media forwarder {self.index}: {reply['error']}")
        return reply

    def _readable(self) -> None:
        while self._channel is not None:
            try:
                data = self._channel.recv(CONTROL_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            message = json.loads(data)
            if "ready" in message:
                if self._ready is not None and not self._ready.done():
                    self._ready.set_result(None)
            elif "id" in message:
                future = self._replies.get(message["id"])
                if future is not None and not future.done():
                    future.set_result(message)
            elif "ev" in message:
                self.on_event(int(message["sid"]), message)
            else:
                log.warning("media forwarder %d: %s", self.index, message.get("error", message))

    def _lost(self) -> None:
        """The process or its channel is gone: fail what waits, hand the sessions back once."""
        was_alive, self.alive = self.alive, False
        self._close_channel()
        for future in self._replies.values():
            if not future.done():
                future.set_exception(ForwarderLost(f"media forwarder {self.index} exited"))
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ForwarderLost(f"media forwarder {self.index} exited"))
        if was_alive:
            self.on_lost(self)

    def _close_channel(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(channel.fileno())
            loop.remove_writer(channel.fileno())
            channel.close()
        self._outbox.clear()

    async def stop(self) -> None:
        """Ask the process to quit, close the channel, wait for it (killed if it lingers)."""
        self.alive = False
        if self._channel is not None:
            with contextlib.suppress(ForwarderLost):
                self.send({"op": "quit"})
        self._close_channel()
        process = self._process
        if process is not None and process.returncode is None:
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._exit is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._exit


class ForwarderPool:
    """``count`` forwarders, supervised: a lost one is restarted, its sessions come back."""

    def __init__(self, count: int, on_event: EventHandler, on_lost: Callable[[set[int]], None]) -> None:
        self.count = count
        self.on_event = on_event
        self.on_sessions_lost = on_lost
        self.forwarders: list[Forwarder] = []
        self._restarts: set[asyncio.Task[None]] = set()
        self._closed = False
        self._started: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start every forwarder (once); one that fails to start is retried in the background."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_task(self._start_all())
        await asyncio.shield(self._started)

    async def _start_all(self) -> None:
        self.forwarders = [Forwarder(i, self.on_event, self._lost) for i in range(self.count)]
        results = await asyncio.gather(*(f.start() for f in self.forwarders), return_exceptions=True)
        for forwarder, result in zip(self.forwarders, results, strict=True):
            if isinstance(result, BaseException):
                log.error("%s; its calls are relayed in process meanwhile", result)
                self._restart_later(forwarder, RESTART_PAUSE_S[0])

    def pick(self) -> Forwarder | None:
        """The running forwarder with the fewest sessions (None: none is running)."""
        alive = [f for f in self.forwarders if f.alive]
        return min(alive, key=lambda f: len(f.sessions)) if alive else None

    def _lost(self, forwarder: Forwarder) -> None:
        sessions, forwarder.sessions = forwarder.sessions, set()
        self.on_sessions_lost(sessions)
        if not self._closed:
            self._restart_later(forwarder, RESTART_PAUSE_S[0])

    def _restart_later(self, forwarder: Forwarder, pause: float) -> None:
        async def restart() -> None:
            await asyncio.sleep(pause)
            if self._closed:
                return
            replacement = Forwarder(forwarder.index, self.on_event, self._lost)
            try:
                await replacement.start()
            except ForwarderLost as exc:
                log.error("%s; retrying in %.0f s", exc, min(2 * pause, RESTART_PAUSE_S[1]))
                self._restart_later(forwarder, min(2 * pause, RESTART_PAUSE_S[1]))
                return
            if self.closed:  # closed while it started
                await replacement.stop()
                return
            self.forwarders[forwarder.index] = replacement
            log.info("media forwarder %d restarted (pid %s)", forwarder.index, replacement.pid)

        task = asyncio.get_running_loop().create_task(restart())
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    async def close(self) -> None:
        """Stop every forwarder and any restart under way."""
        self._closed = True
        for task in list(self._restarts):
            task.cancel()
        if self._started is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._started
        await asyncio.gather(*(f.stop() for f in self.forwarders), return_exceptions=True)
