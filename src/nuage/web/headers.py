"""Security headers on every HTTP answer of the web server (API, pages, health, errors).

* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY``
  on everything;
* a strict ``Content-Security-Policy`` on pages (HTML): nothing loads, runs or frames them but the
  page's own style block, allowed by a nonce drawn for that answer (:func:`page_policy`; no script,
  no inline style attribute, no form, no plugin; the portal's pages also post their forms to
  this origin, :func:`portal_policy`); on every other answer ``default-src 'none';
  frame-ancestors 'none'``;
* ``Strict-Transport-Security`` when the request came over HTTPS (``nuage serve`` with
  ``http.tls``, or a TLS proxy that says so in ``X-Forwarded-Proto``, trusted by uvicorn).

A pure ASGI middleware, the outermost one: headers an answer already has are left as they are.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


def new_nonce() -> str:
    """A fresh nonce for one page's style block (128 random bits)."""
    return secrets.token_urlsafe(16)


def page_policy(nonce: str) -> str:
    """The policy of a page whose ``<style nonce="...">`` block is its only resource."""
    return f"{PAGE_POLICY}; style-src 'nonce-{nonce}'"


def portal_policy(nonce: str) -> str:
    """A portal page's policy: its nonced style block, forms that post to this origin only, the
    portal's script files (``/static/live.js``: its live parts) and audio (voicemail) from this
    origin; still no inline script, no eval, no other origin."""
    policy = page_policy(nonce).replace("form-action 'none'", "form-action 'self'")
    return f"{policy}; script-src 'self'; media-src 'self'; connect-src 'self'"


def with_sources(policy: str, directive: str, sources: str) -> str:
    """``policy`` with ``directive``'s sources set to ``sources`` (a browser reads only the first
    occurrence of a directive: a page that needs more replaces it, never appends a second one)."""
    parts = [p for p in policy.split("; ") if p.split(" ")[0] != directive]
    return "; ".join([*parts, f"{directive} {sources}"])


class SecurityHeaders:
    """Adds the security headers to each answer's start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                policy = PAGE_POLICY if content_type.startswith(b"text/html") else OTHER_POLICY
                wanted = [*_ALWAYS, (b"content-security-policy", policy.encode())]
                if https:
                    wanted.append((b"strict-transport-security", HSTS.encode()))
                headers += [(name, value) for name, value in wanted if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_sources(url: str | None) -> str:
    """``" scheme://host:port"`` of ``url`` to add to a policy's sources ("" without a URL): the Janus
    gateway a page's script talks to."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f" {parts.scheme}://{parts.netloc}"
