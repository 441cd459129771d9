"""What the portal's page tests share: screenshots, forged forms, CDRs of today, the operator's API."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from PIL import Image, ImageChops
from playwright.sync_api import Page

from api.support import SECRETS
from nuage.sip.ports import CallOutcome, CdrRecord, Direction
from nuage.storage.sql.sip_records import SqlCdrSink
from web.conftest import LIVE, Live

T = TypeVar("T")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page: Page, name: str, *, mask: tuple[str, ...] = ()) -> None:
    """A small PNG of the page as a user sees it (the README's portal section shows them).

    The same page gives the same file on every run: the demo and the clock are fixed, the
    elements that hold a fresh secret (``mask``: a new SIP password, its QR code) are painted
    over, animations stopped and the caret hidden; and a picture whose pixels have not changed
    is not written again (its PNG bytes stay as they are), so a test run leaves docs/ clean.
    """
    if LIVE and LIVE[-1].platform.engine.dialect.name != "sqlite":
        return  # the same journey on PostgreSQL: the pictures come from the SQLite run
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1000, "height": 700})
    taken = page.screenshot(
        full_page=False,
        animations="disabled",
        caret="hide",
        mask=[page.locator(selector) for selector in mask],
        mask_color="#7f7f7f",
    )
    path = SCREENSHOTS / f"{name}.png"
    if path.exists() and _same_pixels(path.read_bytes(), taken):
        return
    path.write_bytes(taken)


def _same_pixels(kept: bytes, taken: bytes) -> bool:
    """Whether two PNGs show the same picture, pixel for pixel."""
    with Image.open(io.BytesIO(kept)) as old, Image.open(io.BytesIO(taken)) as new:
        if old.size != new.size:
            return False
        return ImageChops.difference(old.convert("RGB"), new.convert("RGB")).getbbox() is None


def status_of(page: Page, path: str) -> int:
    answer = page.goto(path)
    assert answer is not None
    return answer.status


def csrf_of(page: Page) -> str:
    """The session's CSRF token, as any form of the page carries it."""
    return page.locator("input[name=csrf]").first.get_attribute("value") or ""


def post(page: Page, path: str, form: dict[str, str]) -> int:
    """A form posted with the browser's session cookie and its CSRF token (a forged request)."""
    return page.request.post(path, form={"csrf": csrf_of(page), **form}, max_redirects=0).status


def operator_api(live: Live) -> httpx.Client:
    """The demo operator's API client (what the portal's pages are compared with)."""
    form = {"grant_type": "client_credentials", "client_id": "demo-operator"}
    token = httpx.post(
        f"{live.base}/api/v1/oauth/token", data=form | {"client_secret": SECRETS["demo-operator"]}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=f"{live.base}/api/v1", headers=headers, timeout=60)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on its own loop (Playwright's loop runs in this thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def calls_today(live: Live, account_id: str, count: int) -> None:
    """``count`` answered calls of the account this morning, two at a time (the SIP edge's CDRs)."""
    start = live.clock.now() - timedelta(hours=2)
    records = []
    for index in range(count):
        began = start + timedelta(minutes=index)
        records.append(
            CdrRecord(
                call_id=f"portal-{index}",
                caller="211",
                callee="+3222001122",
                account_id=account_id,
                device_id=None,
                trunk_id=None,
                direction=Direction.OUTBOUND,
                started_at=began,
                answered_at=began + timedelta(seconds=2),
                ended_at=began + timedelta(seconds=100),
                billable_seconds=98,
                outcome=CallOutcome.ANSWERED,
                sip_status=200,
                refusal_rule_id=None,
                emergency=False,
            )
        )
    run(SqlCdrSink(live.platform.engine).write(records))
