"""A customer's administrator runs its account in the portal: users, phones (credentials once, with
a QR code), numbers' routing, rooms and hot desks, recording, sound files and faxes, the account's
status (capacity and today's channel use, CNT-4, EMG) and its call records. The tests save
screenshots of the main pages into docs/screenshots/."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page

from nuage.services import hot_desk, views
from nuage.services.context import Context
from nuage.tenancy.model import PartyKind
from sound_samples import tone_file
from web.conftest import ON_BOTH_DATABASES, Live, log_in, text
from web.page_support import calls_today, csrf_of, shoot, status_of


@ON_BOTH_DATABASES
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
    shoot(page, "customer-device-added", mask=("#sip-username", "#sip-password", "#sip-qr svg"))
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
    page.goto(f"/accounts/{dupont}/calls")  # a filter: the next page keeps it
    page.fill("#filter-number", "+32 2 200 11 22")
    page.select_option("#filter-direction", "outbound")
    with page.expect_navigation():
        page.click("#filter")
    assert page.locator("#call-records tr").count() == 51
    with page.expect_navigation():
        page.click("#next-page")
    assert "number=%2B32" in page.url
    assert page.locator("#call-records tr").count() == 6
    page.select_option("#filter-direction", "inbound")
    with page.expect_navigation():
        page.click("#filter")
    assert "No calls yet." in page.locator("#call-records").inner_text()
    assert status_of(page, f"/accounts/{dupont}/calls?direction=sideways") == 422
    assert "direction is one of" in page.locator("#refusal").inner_text()
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

    assert_recording_choice_saved(page, live, dupont)

    wave = tone_file(700, 1.0, rate=8000, channels=1)
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
        files={"file": ("long.wav", wave * 1_400, "audio/wav")},
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
        if path == "status":
            shoot(page, "customer-status-fr")  # one screenshot in each language
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
        if path == "/customers":
            shoot(page, "operator-customers-nl")


@ON_BOTH_DATABASES
@pytest.mark.rule("SIP-5")
def test_reloading_after_adding_a_device_adds_nothing_and_shows_its_password_no_more(
    page: Page, live: Live
) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/devices")
    page.fill("#label", "Reception phone")
    answers: list[int] = []
    page.on("response", lambda answer: answers.append(answer.status))
    with page.expect_navigation():
        page.click("#add-device")
    assert answers[:2] == [303, 200]  # POST/redirect/GET
    assert page.url.endswith(f"/accounts/{dupont}/devices")
    password = page.locator("#sip-password").inner_text()
    username = page.locator("#sip-username").inner_text()
    page.reload()
    assert page.locator("#sip-password").count() == 0  # shown once (SIP-5), gone on reload
    assert password not in page.content()
    with live.platform.uow() as uow:
        added = uow.devices.list(account_id=dupont, label="Reception phone")
    assert [(d.sip_username, d.sip_password) for d in added] == [(username, password)]  # still one
    assert page.locator("#devices").inner_text().count("Reception phone") == 1


def assert_recording_choice_saved(page: Page, live: Live, dupont: str) -> None:
    """CFG-9: the administrator records the calls bob receives, kept 90 days; an empty selection is
    refused in words and changes nothing."""
    with live.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
    assert bob is not None
    page.select_option("#recording-scope", "users")
    page.check("#recording-enabled")
    page.check("#recording-acknowledged")
    with page.expect_navigation():
        page.click("#save-recording")
    assert "Select at least one user" in page.locator("#refusal").inner_text()
    page.select_option("#recording-scope", "users")
    page.select_option("#recording-direction", "inbound")
    page.check(f"#record-user-{bob.id}")
    page.fill("#recording-retention", "90")
    page.check("#recording-enabled")
    page.check("#recording-acknowledged")
    with page.expect_navigation():
        page.click("#save-recording")
    assert "Recordings are kept 90 days." in page.locator("#recording-state").inner_text()
    assert page.locator(f"#record-user-{bob.id}").is_checked()
    assert page.locator("#recording-direction").input_value() == "inbound"
    with live.platform.uow() as uow:
        setting = uow.recording.find(dupont)
    assert setting is not None
    assert (setting.scope, setting.direction, setting.user_ids, setting.retention_days) == (
        "users",
        "inbound",
        (bob.id,),
        90,
    )
