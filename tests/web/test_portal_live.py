"""The live parts of the operator's pages: server-sent event streams, session-authenticated,
bounded, ended by a logout or the server's shutdown; without script, the pages reload instead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page

from waiting import wait_until
from web.conftest import Live, log_in

EVENTS = "/sip/registrations/events"


def _client(page: Page, live: Live) -> httpx.Client:
    """An HTTP client with the browser's session cookie (what its EventSource sends)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return httpx.Client(base_url=live.base, cookies=cookies, timeout=20)


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) of each event of a stream, as an EventSource reads them."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])


@pytest.mark.rule("TEN-4")
def test_a_stream_needs_a_session_and_the_operators_staff(page: Page, live: Live) -> None:
    assert httpx.get(f"{live.base}{EVENTS}").status_code == 401  # EventSource does not retry it
    log_in(page, "alice@dupont.example")
    with _client(page, live) as client:
        assert client.get(EVENTS).status_code == 404  # TEN-4: nothing reveals the operator's pages
    log_in(page, "olivia@nuage.example")
    with _client(page, live) as client:
        assert client.get("/billing/runs/run-99/events").status_code == 404


def test_a_stream_sends_the_rows_and_ends_at_logout_and_at_shutdown(page: Page, live: Live) -> None:
    log_in(page, "olivia@nuage.example")
    with _client(page, live) as client:
        with client.stream("GET", EVENTS) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            assert answer.headers["cache-control"] == "no-store"
            events = _events(answer.iter_lines())
            name, data = next(events)
            assert name == "message"
            assert "No phone is registered." in data
            csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
            client.post("/logout", data={"csrf": csrf})
            assert next(events) == ("end", "")  # the session ended: so does the stream
    log_in(page, "olivia@nuage.example")
    with _client(page, live) as client, client.stream("GET", EVENTS) as answer:
        lines = answer.iter_lines()
        assert "No phone is registered." in next(_events(lines))[1]
        live.app.state.portal.live.close()
        assert list(lines) == []  # the stream ends; the browser would open it again on the next server
        assert client.get(EVENTS).status_code == 503  # no new stream once the server stops


def test_an_open_stream_does_not_keep_an_idle_session_alive(page: Page, live: Live) -> None:
    log_in(page, "olivia@nuage.example")
    with _client(page, live) as client, client.stream("GET", EVENTS) as answer:
        events = _events(answer.iter_lines())
        assert next(events)[0] == "message"
        live.clock.advance(timedelta(minutes=31))  # nobody clicked for 31 minutes
        assert next(events) == ("end", "")
    page.reload()
    assert page.url.endswith("/login")


def test_streams_are_bounded(page: Page, live: Live) -> None:
    log_in(page, "olivia@nuage.example")
    live.app.state.portal.live.limit = 1
    with _client(page, live) as client, client.stream("GET", EVENTS) as first:
        assert first.status_code == 200
        events = _events(first.iter_lines())  # kept: a dropped iterator closes the connection
        assert next(events)[0] == "message"  # it runs: it is counted
        second = client.get(EVENTS)
        assert second.status_code == 503
        assert second.headers["retry-after"] == "5"
    # the first one ends with its client
    wait_until(lambda: live.app.state.portal.live.open == 0, timeout=20, what="the stream's end")


def test_without_script_the_page_reloads_itself(browser: Browser, live: Live) -> None:
    context = browser.new_context(base_url=live.base, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, "olivia@nuage.example")
        page.goto("/sip/registrations")
        assert page.locator("meta[http-equiv=refresh]").count() == 1
        assert "This page reloads every 5 s." in page.inner_text("body")
    finally:
        context.close()
    scripted = browser.new_context(base_url=live.base)
    try:
        page = scripted.new_page()
        log_in(page, "olivia@nuage.example")
        page.goto("/sip/registrations")
        assert page.locator("meta[http-equiv=refresh]").count() == 0  # the events follow instead
        # the script has shown the first event (a predicate string would be eval: the policy forbids it)
        page.locator("#registrations-rows[data-live-updates]").wait_for(state="attached")
    finally:
        scripted.close()
