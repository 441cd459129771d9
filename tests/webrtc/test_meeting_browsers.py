"""Two browsers meet in a paid room and hear each other (MTG-1); an unpaid room refuses (BIL-6).

Headless Chromium with a fake camera and microphone (a beep), the join page and its client served by
Nuage, the media through the test's Janus video room. What each browser receives from the other is
measured with a WebAudio analyser on the remote audio track.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from api.support import PASSWORDS, SECRETS
from nuage.directory.meetings import MeetingRoom
from nuage.services.context import Context
from nuage.services.meetings.rooms import MeetingOrder, order_meeting_room
from nuage.services.security.demo import DEMO_SECRETS, seed_demo_factors
from nuage.services.security.second_factor import code_at
from nuage.tenancy.model import Language, PartyKind
from waiting import wait_until
from webrtc.conftest import LiveMeeting
from webrtc.test_meeting_rooms_api import PARTNER, pay_invoice

HEARD = 0.01  # RMS of the remote audio (full scale 1.0); silence is 0


def order(live: LiveMeeting, name: str = "Weekly team") -> MeetingRoom:
    platform = live.platform
    with platform.uow() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        customer = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Bakkerij Peeters")
        assert operator is not None
        assert customer is not None
        wanted = MeetingOrder(
            name=name,
            pin="2468",
            months=1,
            terms_version="2026-01",
            language=Language("nl"),
            accepted_by="Jan",
        )
        return order_meeting_room(
            uow,
            Context.operator(operator.id, platform.clock),
            customer.id,
            wanted,
            settings=platform.payments,
            validator=platform.einvoice_validator,
        )


@pytest.fixture
def contexts(media_browser: Browser, meeting_live: LiveMeeting) -> Iterator[list[BrowserContext]]:
    made = [media_browser.new_context(base_url=meeting_live.base, locale="en-GB") for _ in range(2)]
    for context in made:
        context.set_default_timeout(20_000)
    yield made
    for context in made:
        context.close()


def join(page: Page, room: MeetingRoom, display: str, pin: str = "2468") -> None:
    page.goto(f"/meet/{room.id}")
    page.fill("#display", display)
    page.fill("#pin", pin)
    page.click("#join")


def hears_others(page: Page, ms: int = 3000, *, feeds: int = 1) -> float:
    """The loudness of the meeting's sound (the audio bridge's mix) at ``page``, once it sees the
    video of ``feeds`` others."""
    page.wait_for_function(
        f"() => {{ const m = window.nuageMeeting; if (!m || m.remote.size !== {feeds}) return false;"
        " return m.mix !== null && m.mix.getAudioTracks().length > 0; }",
        timeout=30_000,
    )
    levels: dict[str, float | None] = page.evaluate(f"window.nuageMeeting.remoteLevels({ms})")
    level = levels["mix"]
    assert level is not None
    print(f"heard level {level:.4f}")
    return level


def hears_one_other(page: Page, ms: int = 3000) -> float:
    """The loudness of the one other browser in the room, as ``page`` hears it."""
    return hears_others(page, ms, feeds=1)


def heard(page: Page, *, feeds: int = 1, timeout: float = 30.0) -> float:
    """The loudness of the meeting's sound at ``page``, measured a second at a time until it is over
    ``HEARD`` (the first loud second: no fixed 3-second window), or the loudest second after
    ``timeout`` seconds of silence."""
    loudest = 0.0

    def loud() -> bool:
        nonlocal loudest
        loudest = max(loudest, hears_others(page, 1000, feeds=feeds))
        return loudest > HEARD

    with contextlib.suppress(AssertionError):  # silence to the end: the caller's assertion says so
        wait_until(loud, timeout=timeout, interval=0, what="the meeting's sound")
    return loudest


@pytest.mark.rule("MTG-1")
@pytest.mark.rule("BIL-6")
def test_two_browsers_meet_in_a_paid_room_and_hear_each_other(
    meeting_live: LiveMeeting, contexts: list[BrowserContext]
) -> None:
    room = order(meeting_live)
    alice, bob = (context.new_page() for context in contexts)

    join(alice, room, "Alice")
    alice.wait_for_selector("#refusal:not([hidden])")
    assert alice.get_attribute("#refusal", "data-rule-id") == "BIL-6"  # unpaid: the room refuses
    assert room.invoice_number in alice.inner_text("#refusal")

    pay_invoice(meeting_live.platform, room.invoice_number)
    join(alice, room, "Alice")
    join(bob, room, "Bob")
    assert alice.inner_text("#brand-name") == "BruVoice"  # TEN-2: the partner's brand
    assert heard(alice) > HEARD
    assert heard(bob) > HEARD


def test_a_wrong_pin_is_refused(meeting_live: LiveMeeting, contexts: list[BrowserContext]) -> None:
    room = order(meeting_live)
    page = contexts[0].new_page()
    join(page, room, "Eve", pin="0000")
    page.wait_for_selector("#refusal:not([hidden])")
    assert "Wrong PIN" in page.inner_text("#refusal")


SILENT = 0.001


@pytest.mark.rule("MTG-1")
def test_the_host_mutes_and_removes_a_participant(
    meeting_live: LiveMeeting, contexts: list[BrowserContext]
) -> None:
    room = order(meeting_live, "Host controls")
    pay_invoice(meeting_live.platform, room.invoice_number)
    alice, bob = (context.new_page() for context in contexts)
    join(alice, room, "Alice")
    join(bob, room, "Bob")
    assert heard(bob) > HEARD
    with httpx.Client(base_url=f"{meeting_live.base}/api/v1", timeout=30) as http:
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": PARTNER,
                "client_secret": SECRETS[PARTNER],
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        people = http.get(f"/meeting-rooms/{room.id}/participants").json()["items"]
        by_name = {person["display"]: person["participant_id"] for person in people}
        assert set(by_name) == {"Alice", "Bob"}
        muted = http.post(
            f"/meeting-rooms/{room.id}/participants/{by_name['Alice']}/mute", json={"muted": True}
        )
        assert muted.status_code == 204, muted.text
        wait_until(lambda: hears_one_other(bob, 1000) < SILENT, timeout=30, what="Bob to stop hearing Alice")
        assert heard(alice) > HEARD  # Alice still hears Bob
        removed = http.delete(f"/meeting-rooms/{room.id}/participants/{by_name['Bob']}")
        assert removed.status_code == 204, removed.text
        bob.wait_for_function(
            "() => document.getElementById('meeting-status').textContent === 'removed'", timeout=60_000
        )
        left = http.get(f"/meeting-rooms/{room.id}/participants").json()["items"]
        assert [person["display"] for person in left] == ["Alice"]


def test_the_operator_sees_the_gateway_on_the_overview(
    contexts: list[BrowserContext], meeting_live: LiveMeeting
) -> None:
    platform = meeting_live.platform
    with platform.uow() as uow:  # operator administrators log in with a second factor: the demo's
        seed_demo_factors(uow, platform.clock.now())
        uow.commit()
    page = contexts[0].new_page()
    page.goto("/login")
    page.fill("#email", "olivia@nuage.example")
    page.fill("#password", PASSWORDS["olivia@nuage.example"])
    with page.expect_navigation():
        page.click("#login")
    assert page.url.endswith("/login/code")  # the operator's second factor (the demo's secret)
    page.fill("#code", code_at(DEMO_SECRETS["olivia@nuage.example"], platform.clock.now()))
    with page.expect_navigation():
        page.click("#send-code")
    page.goto("/overview")
    assert page.inner_text("#janus-health").startswith("answers: Janus 1.")
