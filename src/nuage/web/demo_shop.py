"""The demo shop page (CFG-10, issue #18): a customer's web page as ``nuage demo --webrtc`` imagines
it, served at ``/demo/shop`` by Nuage's own web server, embedding the click-to-call widget snippet
exactly as a customer would. It exists only while the demo's shop widget does (404 otherwise), and
the widget answers it because ``nuage serve`` points the widget's allowed origin at this server.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from nuage.bootstrap import Platform
from nuage.services.demo_webrtc import SHOP_PATH, WebRtcDemo, find_webrtc_demo
from nuage.web.headers import new_nonce, origin_sources, page_policy, with_sources

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Atelier Dupont: demo shop</title>
<style nonce="{nonce}">
body {{ font-family: sans-serif; max-width: 40rem; margin: 3rem auto; color: #222; }}
pre {{ background: #f4f4f4; padding: .8rem; overflow-x: auto; }}
#nuage-call-us {{ font-size: 1.2rem; padding: .6rem 1.4rem; }}
</style>
</head>
<body>
<h1>Atelier Dupont</h1>
<p>Handmade furniture since 1962. Questions about an order? Call us from this page:</p>
{snippet}
<h2>The snippet on this page</h2>
<pre>{shown}</pre>
<p>A demo of Nuage's click-to-call widget (CFG-10): a page of the widget's allowed origin gets a
short-lived token, then calls the destination the operator configured, through the WebRTC
gateway.</p>
</body>
</html>
"""


def snippet(widget_id: str) -> str:
    """The widget's snippet as the portal shows it, loading the script from this server."""
    return f'<script src="/widget/loader.js" data-widget="{escape(widget_id)}" async></script>'


def router(platform: Platform) -> APIRouter:
    """``GET /demo/shop``."""
    routes = APIRouter()

    def find() -> WebRtcDemo | None:
        with platform.uow() as uow:
            return find_webrtc_demo(uow)

    @routes.get(SHOP_PATH, include_in_schema=False)
    async def shop() -> Response:
        demo = await run_in_threadpool(find)
        if demo is None:
            return HTMLResponse("Not found", status_code=404)
        nonce = new_nonce()
        code = snippet(demo.widget_id)
        html = _PAGE.format(
            nonce=nonce, snippet=code, shown=escape(code.replace("/widget", "https://NUAGE/widget"))
        )
        policy = with_sources(page_policy(nonce), "script-src", "'self'")
        gateway = origin_sources(platform.settings.janus.browser_url)  # the call goes through Janus
        policy = with_sources(policy, "connect-src", f"'self'{gateway}")
        policy = with_sources(policy, "media-src", "'self' blob: mediastream:")
        return HTMLResponse(html, headers={"Content-Security-Policy": policy, "Cache-Control": "no-store"})

    return routes


def install(app: FastAPI, platform: Platform) -> None:
    """Add the demo shop page to ``app``."""
    app.include_router(router(platform))
