"""The portal's management pages per role: a customer's administrator runs its account (users,
phones, numbers, rooms, media, status), a supervisor only looks, the operator runs the SIP edge and
the tenants, a partner its own customers; every page scoped like the API (TEN-4). The tests save
screenshots of the main pages into docs/screenshots/."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Page

from api.support import SECRETS
from nuage.directory.model import RoomUse
from nuage.services import hot_desk, views
from nuage.services.billing.demo import demo_cdr_csv
from nuage.services.billing.queries import list_invoices
from nuage.services.context import Context
from nuage.services.directory.rooms import add_room
from nuage.sip.ports import BanRecord, CallOutcome, CdrRecord, Direction
from nuage.storage.sql.sip_records import SqlCdrSink
from nuage.tenancy.model import PartyKind, PartyStatus
from web.conftest import Live, log_in, text

T = TypeVar("T")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page: Page, name: str) -> None:
    """A small PNG of the page as a user sees it (the README's portal section shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1000, "height": 700})
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


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


@pytest.mark.rule("CAP-1")
@pytest.mark.rule("SIP-5")
def test_an_administrator_adds_a_user_and_a_phone_routes_a_number_and_sees_capacity_change(
    page: Page, live: Live
) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    calls_today(live, dupont, 3)
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/status")
    before = page.locator("#capacity").inner_text()
    users_before = int(re.search(r"from (\d+) billable users", before).group(1))  # type: ignore[union-attr]
    assert page.locator("#channel-chart svg rect").count() >= 1  # this morning's calls, drawn
    assert "Declaration" in text(page)
    assert "emergency calls" in text(page)
    shoot(page, "customer-status")

    page.goto(f"/accounts/{dupont}/users/new")
    page.fill("#name", "Paul Portal")
    page.fill("#extension", "231")
    with page.expect_navigation():
        page.click("#save")
    page.goto(f"/accounts/{dupont}/status")
    after = page.locator("#capacity").inner_text()
    assert f"from {users_before + 1} billable users" in after
    with live.platform.uow() as uow:
        ctx = Context.operator("op", live.clock)
        channels = views.capacity_of(uow, ctx, dupont).channels
        paul = uow.users.find_by(name="Paul Portal")
        assert paul is not None
    assert after.startswith(f"{channels} simultaneous calls")

    page.goto(f"/accounts/{dupont}/devices")
    page.fill("#label", "Paul's desk phone")
    page.select_option("#kind", "desk_phone")
    page.select_option("#user_id", paul.id)
    with page.expect_navigation():
        page.click("#add-device")
    password = page.locator("#sip-password").inner_text()
    assert len(password) >= 12
    assert page.locator("#sip-qr svg path").count() >= 1  # the QR code, drawn on the server
    shoot(page, "customer-device-added")
    page.goto(f"/accounts/{dupont}/devices")  # SIP-5: shown once, never again
    assert page.locator("#sip-password").count() == 0
    assert password not in page.content()
    assert "Paul's desk phone" in page.locator("#devices").inner_text()

    with live.platform.uow() as uow:
        number = uow.numbers.find_by(e164="+3223000101")
        assert number is not None
        assert number.device_id is None
        assert number.trunk_id is None
    page.goto(f"/accounts/{dupont}/numbers")
    page.select_option(f"#route-{number.id}", f"user:{paul.id}")
    with page.expect_navigation():
        page.click("button[data-number='+3223000101']")
    assert "The number's routing was saved." in text(page)
    with live.platform.uow() as uow:
        routed = uow.numbers.find(number.id)
        assert routed is not None
        assert routed.user_id == paul.id
    shoot(page, "customer-numbers")


def test_the_call_records_come_a_keyset_page_at_a_time(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    calls_today(live, dupont, 55)
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/calls")
    assert page.locator("#call-records tr").count() == 51  # the header and a page of 50
    with page.expect_navigation():
        page.click("#next-page")
    assert page.locator("#call-records tr").count() == 6
    assert page.locator("#next-page").count() == 0
    assert status_of(page, f"/accounts/{dupont}/calls?after=not-a-cursor") == 422
    assert "start again without it" in page.locator("#refusal").inner_text()


@pytest.mark.rule("CFG-9")
@pytest.mark.rule("CFG-12")
@pytest.mark.rule("CFG-7")
def test_recording_sound_files_and_faxes_ask_for_their_acknowledgments(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/media")
    assert "best effort" in page.locator("#fax-warning").inner_text()  # CFG-7
    page.check("#recording-enabled")
    with page.expect_navigation():
        page.click("#save-recording")
    assert "CFG-9" in page.locator("#refusal").inner_text()
    page.check("#recording-enabled")
    page.check("#recording-acknowledged")
    with page.expect_navigation():
        page.click("#save-recording")
    assert "Call recording is on." in text(page)
    assert page.locator("#recording-state").inner_text().startswith("Calls are recorded.")

    wave = b"RIFF" + b"\0" * 2000
    page.fill("#sound-name", "Hold music")
    page.set_input_files("#sound-file", files=[{"name": "hold.wav", "mimeType": "audio/wav", "buffer": wave}])
    with page.expect_navigation():
        page.click("#upload-sound")
    assert "CFG-12" in page.locator("#refusal").inner_text()
    page.set_input_files("#sound-file", files=[{"name": "hold.wav", "mimeType": "audio/wav", "buffer": wave}])
    page.check("#copyright")
    with page.expect_navigation():
        page.click("#upload-sound")
    assert "Hold music" in page.locator("#sounds").inner_text()
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer = httpx.post(  # over the cap: refused before it is read
        f"{live.base}/accounts/{dupont}/sound-files",
        data={"csrf": csrf_of(page), "name": "Too long", "copyright": "on"},
        files={"file": ("long.wav", wave * 10_500, "audio/wav")},
        cookies=cookies,
        timeout=60,
    )
    assert answer.status_code == 413
    assert "at most 20 MiB" in answer.text
    with live.platform.uow() as uow:
        (sound,) = uow.sound_files.list(account_id=dupont)
        assert sound.size_bytes == len(wave)
        assert sound.content_type == "audio/wav"
    shoot(page, "customer-media")


@pytest.mark.rule("CFG-4")
@pytest.mark.rule("CFG-13")
def test_rooms_and_hot_desk_pins(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/rooms")
    page.fill("#room-name", "Workshop")
    page.select_option("#room-use", "non_users")
    with page.expect_navigation():
        page.click("#add-room")
    assert "Workshop" in page.locator("#rooms").inner_text()
    page.goto(f"/accounts/{dupont}/devices")  # CFG-4: a phone of the workshop counts one user
    page.fill("#label", "Workshop phone 2")
    page.select_option("#room_id", label="Workshop")
    with page.expect_navigation():
        page.click("#add-device")
    page.goto(f"/accounts/{dupont}/status")
    assert "Workshop phone 2" in page.locator("#shortfalls").inner_text()
    page.goto(f"/accounts/{dupont}/numbers")  # CFG-6: a number rings a device too
    page.select_option("select[id^=route-] >> nth=-1", label="Workshop phone 2")
    routed = page.locator("button[data-number] >> nth=-1").get_attribute("data-number")
    with page.expect_navigation():
        page.click(f"button[data-number='{routed}']")
    assert "The number's routing was saved." in text(page)
    with live.platform.uow() as uow:
        number = uow.numbers.find_by(e164=routed)
        device = uow.devices.find_by(label="Workshop phone 2")
        assert device is not None
        assert number is not None
        assert number.device_id == device.id
    page.goto(f"/accounts/{dupont}/rooms")
    with live.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
    page.fill(f"#pin-{bob.id}", "12")
    with page.expect_navigation():
        page.click(f"button[data-user='{bob.name}']")
    assert page.locator("#refusal").inner_text().startswith("pin: ")
    page.fill(f"#pin-{bob.id}", "48213")
    with page.expect_navigation():
        page.click(f"button[data-user='{bob.name}']")
    assert "The hot-desk PIN was set." in text(page)
    assert "48213" not in page.content()
    with live.platform.uow() as uow:
        found = uow.users.find(bob.id)
        assert found is not None
        assert found.hot_desk_pin_hash is not None
    page.goto(f"/accounts/{dupont}/devices")  # CFG-13: a shared phone, Bob logs in on it (its keypad)
    page.fill("#label", "Shared desk")
    page.check("#hot_desk")
    with page.expect_navigation():
        page.click("#add-device")
    with live.platform.uow() as uow:
        shared = uow.devices.find_by(label="Shared desk")
        assert shared is not None
        assert shared.hot_desk
        hot_desk.log_in(uow, Context.operator("op", live.clock), shared.id, bob.id)
        uow.commit()
    page.goto(f"/accounts/{dupont}/rooms")
    assert "Bob Martin" in page.locator("#hot-desk-sessions").inner_text()
    shoot(page, "customer-rooms")
    with page.expect_navigation():
        page.click("#hot-desk-sessions button")
    assert "The user was logged out of the shared phone." in text(page)
    assert "Nobody is logged in" in page.locator("#hot-desk-sessions").inner_text()


@pytest.mark.rule("TEN-4")
def test_a_supervisor_sees_everything_and_changes_nothing(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "chloe@dupont.example")
    forms = {
        "users": "#new-user",
        "devices": "#add-device",
        "numbers": "#numbers select",
        "rooms": "#room-form",
        "media": "#recording-form, #sound-form, #fax-form",
        "status": "form[action*='/accounts/']",
        "calls": "form[action*='/accounts/']",
    }
    for path, form in forms.items():
        assert status_of(page, f"/accounts/{dupont}/{path}") == 200, path
        assert page.locator(form).count() == 0, path
    shoot(page, "supervisor-calls")
    with live.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
        devices = uow.devices.count(account_id=dupont)
        rooms = uow.rooms.count(account_id=dupont)
    forged = {
        f"/accounts/{dupont}/devices": {"label": "Forged", "kind": "desk_phone"},
        f"/accounts/{dupont}/users/new": {"name": "Forged"},
        f"/accounts/{dupont}/rooms": {"name": "Forged", "use": "users"},
        f"/accounts/{dupont}/recording": {"enabled": "on", "acknowledged": "on"},
        f"/accounts/{dupont}/users/{bob.id}/hot-desk-pin": {"pin": "48213"},
        f"/accounts/{dupont}/users/{bob.id}/remove": {},
    }
    for path, form in forged.items():
        assert post(page, path, form) == 403, path
    with live.platform.uow() as uow:
        assert uow.devices.count(account_id=dupont) == devices
        assert uow.rooms.count(account_id=dupont) == rooms
        assert uow.users.find_by(name="Forged") is None
        assert uow.users.find(bob.id) is not None
        setting = uow.recording.find(dupont)
        assert setting is None or not setting.enabled


@pytest.mark.rule("TEN-4")
def test_another_customers_objects_are_not_found(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    peeters = live.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    with live.platform.uow() as uow:
        room = add_room(uow, Context.operator("op", live.clock), peeters, "Bakery", RoomUse.NON_USERS)
        jan = uow.users.find_by(email="jan@peeters.example")
        uow.commit()
    assert jan is not None
    log_in(page, "alice@dupont.example")
    for what in ("rooms", "media", "status", "calls"):
        assert status_of(page, f"/accounts/{peeters}/{what}") == 404, what
        assert "Page not found" in text(page)
    page.goto(f"/accounts/{dupont}/rooms")
    assert post(page, f"/accounts/{dupont}/rooms/{room.id}/remove", {}) == 404  # Peeters' room, our URL
    assert post(page, f"/accounts/{peeters}/rooms/{room.id}/remove", {}) == 404
    assert post(page, f"/accounts/{dupont}/users/{jan.id}/hot-desk-pin", {"pin": "48213"}) == 404
    with live.platform.uow() as uow:
        assert uow.rooms.find(room.id) is not None
        found = uow.users.find(jan.id)
        assert found is not None
        assert found.hot_desk_pin_hash is None
    for path in ("/sip/bans", "/sip/registrations"):
        assert status_of(page, path) == 404, path


@pytest.mark.rule("SIP-5")
def test_the_operator_lifts_a_sip_ban(page: Page, live: Live) -> None:
    now = live.clock.now()
    ban = BanRecord("203.0.113.9", now, now + timedelta(hours=1), "3 failed authentications in 60 s")

    async def store_ban() -> None:
        async with live.platform.ban_store() as store:
            await store.add([ban])

    run(store_ban())
    log_in(page, "olivia@nuage.example")
    page.goto("/sip/bans")
    assert "3 failed authentications" in page.locator("#bans").inner_text()
    shoot(page, "operator-sip-bans")
    with page.expect_navigation():
        page.click("button[data-address='203.0.113.9']")
    assert "The ban was lifted." in text(page)
    assert "203.0.113.9" not in page.locator("#bans").inner_text()

    async def active() -> list[BanRecord]:
        async with live.platform.ban_store() as store:
            return await store.active(live.clock.now())

    assert run(active()) == []
    assert post(page, "/sip/bans/lift", {"address": "203.0.113.9"}) == 200  # not banned: said so
    assert status_of(page, "/sip/registrations") == 200
    assert page.locator("#registrations").count() == 1


def test_the_operator_creates_suspends_and_restores_a_customer(page: Page, live: Live) -> None:
    log_in(page, "olivia@nuage.example")
    page.goto("/customers")
    page.fill("#customer-name", "Garage Martin")
    with page.expect_navigation():
        page.click("#add-customer")
    assert "Garage Martin" in page.locator("#customers").inner_text()
    martin = live.party_id(PartyKind.CUSTOMER, "Garage Martin")
    page.fill(f"#reason-{martin}", "unpaid invoice")
    with page.expect_navigation():
        page.click("button[data-suspend='Garage Martin']")
    assert "The status was changed." in text(page)
    with live.platform.uow() as uow:
        assert uow.parties.get(martin).status is PartyStatus.SUSPENDED
    shoot(page, "operator-customers")
    with page.expect_navigation():
        page.click("button[data-restore='Garage Martin']")
    with live.platform.uow() as uow:
        assert uow.parties.get(martin).status is PartyStatus.ACTIVE
    page.goto("/partners")
    page.fill("#partner-name", "Liège Telecom")
    with page.expect_navigation():
        page.click("#add-partner")
    assert "Liège Telecom" in page.locator("#partners").inner_text()


@pytest.mark.rule("TEN-4")
def test_a_partner_sees_and_adds_only_its_own_customers(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    peeters = live.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    log_in(page, "pierre@bruvoice.example")
    page.fill("#customer-name", "Friterie Janssens")
    with page.expect_navigation():
        page.click("#add-customer")
    shown = page.locator("#customers").inner_text()
    assert "Friterie Janssens" in shown
    assert "Bakkerij Peeters" in shown
    assert "Atelier Dupont" not in shown
    assert page.locator("button[data-suspend]").count() == 0  # the operator decides (PAY-1)
    shoot(page, "partner-customers")
    with live.platform.uow() as uow:
        janssens = uow.parties.find_by(kind="customer", name="Friterie Janssens")
        bruvoice = live.party_id(PartyKind.PARTNER, "Brussels Voice Partners")
        assert janssens is not None
        assert janssens.partner_id == bruvoice
    for what in ("status", "rooms", "media", "calls"):
        assert status_of(page, f"/accounts/{peeters}/{what}") == 200, what
        assert status_of(page, f"/accounts/{dupont}/{what}") == 404, what
    assert post(page, f"/parties/{peeters}/status", {"status": "suspended", "reason": "x"}) == 403
    assert post(page, f"/parties/{dupont}/status", {"status": "suspended", "reason": "x"}) == 404


@pytest.mark.rule("BIL-9")
def test_the_operator_starts_a_billing_run_and_follows_it_to_its_end(page: Page, live: Live) -> None:
    live.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))  # January has ended
    with live.platform.uow() as uow:
        cdrs = demo_cdr_csv(uow)
    with operator_api(live) as api:
        assert api.post("/billing/counts", json={"month": "2026-01"}).status_code == 200
        headers = {"Content-Type": "text/csv"}
        assert api.post("/billing/cdr-imports", content=cdrs.encode(), headers=headers).status_code == 200
        assert api.post("/billing/ratings").status_code == 200
    log_in(page, "olivia@nuage.example")
    page.goto("/billing/runs")
    page.fill("#period", "2026-13")
    with page.expect_navigation():
        page.click("#start-run")
    assert page.locator("#refusal").inner_text().startswith("period: ")  # the API's words
    page.fill("#period", "2026-01")
    page.fill("#run_on", "2026-01-28")
    with page.expect_navigation():
        page.click("#start-run")
    assert re.search(r"/billing/runs/run-\d+$", page.url)
    page.locator("#run-finished").wait_for(timeout=120_000)  # the page reloads itself until the end
    issued = int(page.locator("#run-invoices").inner_text())
    assert issued > 0
    with live.platform.uow() as uow:
        ctx = Context.operator("op", live.clock)
        assert len(list_invoices(uow, ctx, limit=500).items) == issued
    shoot(page, "operator-billing-run")
    page.goto("/billing/runs")
    assert "2026-01" in page.locator("#runs").inner_text()
    page.fill("#period", "2026-01")
    with page.expect_navigation():
        page.click("#start-run")
    page.locator("#run-finished").wait_for(timeout=120_000)
    assert page.locator("#run-invoices").inner_text() == "0"  # BIL-9: a re-run issues nothing new


def test_the_new_pages_speak_french_and_dutch(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "alice@dupont.example")
    with page.expect_navigation():
        page.click("button[name=language][value=fr]")
    expected = {
        "status": "appels simultanés",
        "rooms": "Pièces communes",
        "media": "Enregistrement des appels",
        "calls": "Journal des appels",
        "devices": "Pièce commune (CFG-4)",
        "numbers": "Acheminé vers",
    }
    for path, words in expected.items():
        assert status_of(page, f"/accounts/{dupont}/{path}") == 200, path
        assert words in text(page), path
    page.click("#logout")
    page.wait_for_url("**/login")
    log_in(page, "olivia@nuage.example")
    with page.expect_navigation():
        page.click("button[name=language][value=nl]")
    for path, words in {
        "/sip/bans": "Geen enkel adres is geblokkeerd.",
        "/sip/registrations": "Geen enkel toestel is geregistreerd.",
        "/billing/runs": "De run starten",
        "/customers": "Een klant toevoegen",
        "/partners": "Een partner toevoegen",
    }.items():
        assert status_of(page, path) == 200, path
        assert words in text(page), path
