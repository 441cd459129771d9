"""Invoices in the portal (BIL-4): the operator lists them all and downloads the stored PDF; a
customer's administrator sees its own only (TEN-4)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page

from api.support import SECRETS
from nuage.services.billing.demo import demo_cdr_csv
from web.conftest import Live, log_in, text


def _api(live: Live, client_id: str) -> httpx.Client:
    token = httpx.post(
        f"{live.base}/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": SECRETS[client_id],
        },
    ).json()["access_token"]
    return httpx.Client(
        base_url=f"{live.base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.mark.rule("BIL-4")
def test_invoices_are_listed_in_scope_and_the_pdf_is_the_stored_file(page: Page, live: Live) -> None:
    live.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))  # January has ended: bill it as the API does
    with live.platform.uow() as uow:
        cdrs = demo_cdr_csv(uow)
    with _api(live, "demo-operator") as operator:
        assert operator.post("/billing/counts", json={"month": "2026-01"}).status_code == 200
        headers = {"Content-Type": "text/csv"}
        assert (
            operator.post("/billing/cdr-imports", content=cdrs.encode(), headers=headers).status_code == 200
        )
        assert operator.post("/billing/ratings").status_code == 200
        run = operator.post("/billing/runs", json={"period": "2026-01", "run_on": "2026-01-28"})
        assert run.status_code == 200, run.text
        numbers = [i["number"] for i in operator.get("/invoices").json()["items"]]
    with _api(live, "demo-dupont") as dupont:
        own = [i["number"] for i in dupont.get("/invoices").json()["items"]]
    assert own
    assert set(own) < set(numbers)
    log_in(page, "olivia@nuage.example")
    page.goto("/invoices")
    listed = page.locator("#invoices").inner_text()
    assert all(number in listed for number in numbers)
    with page.expect_download() as waiting:
        page.click(f"a[href='/invoices/{own[0]}/pdf']")
    downloaded = waiting.value
    with _api(live, "demo-dupont") as dupont:
        stored = dupont.get(f"/invoices/{own[0]}/pdf").content
    assert downloaded.path().read_bytes() == stored
    assert stored.startswith(b"%PDF")
    page.click("#logout")
    page.wait_for_url("**/login")
    log_in(page, "alice@dupont.example")
    page.goto("/invoices")
    listed = page.locator("#invoices").inner_text()
    others = [n for n in numbers if n not in own]
    assert all(number in listed for number in own)
    assert not any(number in listed for number in others)
    if others:
        answer = page.goto(f"/invoices/{others[0]}/pdf")
        assert answer is not None
        assert answer.status == 404
        assert "Page not found" in text(page)
