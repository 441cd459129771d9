"""Live pages without reloading: server-sent events, and the portal's one script (``/static/live.js``).

A page part marked ``data-live="<events URL>"`` is followed by the script: an ``EventSource`` on the
URL, each event's data (HTML rendered here, in the viewer's language) replaces the part's content,
an ``end`` event closes it. Without script the page keeps its ``<noscript>`` reload. The policy
lets the portal's pages run this file only (``script-src 'self'``: no inline script, no eval).

A stream (:func:`stream`) is session-authenticated: its viewer is rebuilt from storage at every
tick, exactly as a page's, so a logout, a removed user, a new password or the session's idle time
running out ends it (its ticks do not keep the session alive). It sends a part
only when it changed (a comment every ``KEEPALIVE_S`` keeps proxies from closing it), and is
bounded by ``streams.LiveStreams`` (how many, how long, the server's shutdown).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from nuage.api.deps import ApiUnitOfWork
from nuage.api.errors import Forbidden
from nuage.errors import NotFound
from nuage.web.portal import i18n
from nuage.web.portal.base import NO_STORE, TEMPLATES, LoginRequired, Portal, Viewer
from nuage.web.portal.streams import MAX_STREAM_S

SCRIPT = Path(__file__).parent / "static" / "live.js"
KEEPALIVE_S = 15.0
RETRY_MS = 2000


@dataclass(frozen=True)
class Frame:
    """What a stream shows now: the part's HTML, and whether it is the last (the run has ended)."""

    html: str
    last: bool = False


Tick = Callable[[Viewer, ApiUnitOfWork], Frame]


def fragment(viewer: Viewer, template: str, **values: Any) -> str:
    """A template rendered alone (a page's live part), in the viewer's language."""
    language = viewer.language
    return TEMPLATES.get_template(template).render(
        _=i18n.gettext(language),
        money=lambda amount, currency: i18n.money(amount, currency, language),
        day=lambda value: i18n.day(value, language),
        moment=lambda value: i18n.moment(value, language),
        language=language,
        viewer=viewer,
        **values,
    )


def event(data: str, name: str | None = None) -> bytes:
    """One server-sent event (each line of ``data`` on a ``data:`` line of its own)."""
    head = f"event: {name}\n" if name else ""
    lines = "".join(f"data: {line}\n" for line in data.replace("\r", "").split("\n"))
    return f"{head}{lines}\n".encode()


async def stream(portal: Portal, request: Request, tick: Tick, every_s: float) -> Response:
    """The events of a live part: ``tick`` every ``every_s`` seconds for the session's viewer
    (one who must enrol a second factor first has none, as its pages redirect it).

    Refused before it starts as a page would be (no session: 401, not visible: 404, not allowed:
    403; ``EventSource`` does not retry those), or with 503 when too many streams are open."""

    def look(uow: ApiUnitOfWork) -> Frame:
        viewer = portal.viewer(request, uow, touch=False)
        if viewer.must_enrol:  # a second factor to enrol first: its pages are the only ones shown
            raise LoginRequired()
        return tick(viewer, uow)

    def run_tick() -> Frame | None:
        with portal.uow() as uow:
            try:
                return look(uow)
            except (LoginRequired, NotFound, Forbidden):
                return None

    def refused() -> int | None:
        with portal.uow() as uow:
            try:
                look(uow)
            except LoginRequired:
                return 401
            except NotFound:
                return 404
            except Forbidden:
                return 403
        return None

    status = await run_in_threadpool(refused)
    if status is not None:
        return Response(status_code=status, headers=NO_STORE)
    streams = portal.live
    if not streams.room():
        return Response(status_code=503, headers={"Retry-After": "5", **NO_STORE})

    async def events() -> AsyncIterator[bytes]:
        yield f"retry: {RETRY_MS}\n\n".encode()
        if not streams.admit():  # others opened meanwhile, or the server stops: try again later
            return
        try:
            started = last_sent = time.monotonic()
            shown: str | None = None
            while not streams.closed.is_set() and time.monotonic() - started < MAX_STREAM_S:
                frame = await run_in_threadpool(run_tick)
                if frame is None:  # logged out, removed, no longer allowed: the part stops
                    yield event("", "end")
                    return
                if frame.html != shown:
                    shown, last_sent = frame.html, time.monotonic()
                    yield event(frame.html)
                if frame.last:
                    yield event("", "end")
                    return
                if time.monotonic() - last_sent >= KEEPALIVE_S:
                    last_sent = time.monotonic()
                    yield b": still here\n\n"
                await anyio.sleep(every_s)
        finally:
            streams.release()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@cache
def _script() -> bytes:
    return SCRIPT.read_bytes()


def router(portal: Portal) -> APIRouter:
    """The portal's script (the same for everyone: no session needed)."""
    routes = APIRouter()

    @routes.get("/static/live.js", include_in_schema=False)
    def script() -> Response:
        return Response(
            _script(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

    return routes
