"""Request bodies bounded at the edge: a body over its cap is refused with 413 before it is read whole.

The cap depends on the media type the request declares: CDR CSV uploads, sound files and a ticket's
attachments have their own (``CSV_BYTES``, ``directory.rules.MAX_SOUND_BYTES``, ``MULTIPART_BYTES``);
every other body (JSON, forms) is held to ``JSON_BYTES``. A ``Content-Length`` over the cap is
refused before anything is read; a body sent without one (chunked) is counted as it streams in and
refused as soon as it passes the cap, so no handler ever holds more than the cap in memory.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nuage.directory.rules import MAX_SOUND_BYTES
from nuage.support.attachments import MAX_ATTACHMENT_BYTES

JSON_BYTES = 1024 * 1024  # JSON bodies and forms: the largest legitimate one is a few kilobytes
CSV_BYTES = 50 * 1024 * 1024  # SIP-1: a month of CDRs of a large account, as one upload
MULTIPART_BYTES = MAX_ATTACHMENT_BYTES + 64 * 1024  # SUP-1: one file attached to a ticket, and its form
_CAPS = {"text/csv": CSV_BYTES, "multipart/form-data": MULTIPART_BYTES}


def body_cap(content_type: str) -> int:
    """The largest body a request of ``content_type`` may carry."""
    media = content_type.split(";")[0].strip().lower()
    if media.startswith("audio/"):
        return MAX_SOUND_BYTES
    return _CAPS.get(media, JSON_BYTES)


def _refusal(status: int, error_id: str, message: str, **details: Any) -> tuple[Message, Message]:
    body = json.dumps({"error_id": error_id, "message": message, "details": details}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def _too_large(cap: int) -> tuple[Message, Message]:
    return _refusal(
        413, "payload-too-large", f"The request body is larger than {cap} bytes", field="body", max_bytes=cap
    )


class BodyLimit:
    """ASGI middleware: refuses (413, ``payload-too-large``) a request body over its cap, streaming."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", ())}
        cap = body_cap(headers.get(b"content-type", b"").decode("latin-1"))
        declared = headers.get(b"content-length")
        if declared is not None:
            text = declared.decode("latin-1").strip()
            if not text.isdigit():
                for message in _refusal(
                    400, "bad-request", "Content-Length is not a whole number", field="content-length"
                ):
                    await send(message)
                return
            if int(text) > cap:
                for message in _too_large(cap):
                    await send(message)
                return
        await self._counted(scope, receive, send, cap)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    refused = True
                    if not started:
                        for reply in _too_large(cap):
                            await send(reply)
                    # to the application the client is gone: it stops reading and answers no one
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 was the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise  # the application's own failure; a refused body's aftermath is not one
