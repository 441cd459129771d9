"""Cache headers (API-4): reads carry a strong validator and must be revalidated; writes are not kept."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from starlette.types import Send

READ_CACHE_CONTROL = "private, max-age=0, must-revalidate"
_READ_CACHE_CONTROL = READ_CACHE_CONTROL.encode("latin-1")


def read_response(request: Request, body: bytes) -> Response:
    """API-4: a JSON read with an ETag; ``If-None-Match`` with that ETag gets 304 and no body."""
    return cached_response(body, request.headers.get("if-none-match"))


def cached_response(body: bytes, wanted: str | None) -> Response:
    """API-4: the read response for ``body`` given the request's ``If-None-Match`` (or None)."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": READ_CACHE_CONTROL, "Vary": "Authorization"}
    if wanted is not None:
        tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def cached_file_response(request: Request, body: bytes, media_type: str, filename: str) -> Response:
    """API-4: a file read (a PDF, an XML e-invoice) with an ETag, the read cache headers and its name."""
    response = cached_response(body, request.headers.get("if-none-match"))
    headers = {
        name: response.headers[name] for name in ("ETag", "Cache-Control", "Vary") if name in response.headers
    }
    headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if response.status_code == 304:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def write_response(body: bytes | None, status: int = 200) -> Response:
    """API-4: the answer to a write (or a secret shown once) is never stored by a cache."""
    if body is None:
        return Response(status_code=status, headers={"Cache-Control": "no-store"})
    return Response(
        body, status_code=status, media_type="application/json", headers={"Cache-Control": "no-store"}
    )


async def send_cached(send: Send, body: bytes, wanted: str | None) -> None:
    """API-4: :func:`cached_response`'s answer (same status, headers and body), sent as raw ASGI
    messages: the hot read path skips building a response object."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = [
        (b"etag", etag.encode("latin-1")),
        (b"cache-control", _READ_CACHE_CONTROL),
        (b"vary", b"Authorization"),
    ]
    if wanted is not None:
        tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
        if etag in tags or "*" in tags:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
    headers.append((b"content-length", b"%d" % len(body)))
    headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
