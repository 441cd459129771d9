"""The portal's pages per role, scoped exactly like the API (TEN-4), its forms refused in the API's
words with the rule ID, in EN/FR/NL, under the partner's brand (TEN-2): the main journeys, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page

from api.support import PASSWORDS
from nuage.tenancy.model import PartyKind
from web.conftest import ON_BOTH_DATABASES, Live, log_in, text

pytestmark = ON_BOTH_DATABASES


def _status(page: Page, path: str) -> int:
    answer = page.goto(path)
    assert answer is not None
    return answer.status


@pytest.mark.rule("TEN-4")
def test_a_customer_administrator_sees_only_its_own_account(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    peeters = live.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    log_in(page, "alice@dupont.example")
    assert page.url.endswith(f"/accounts/{dupont}/users")
    for what in ("devices", "numbers"):
        assert _status(page, f"/accounts/{dupont}/{what}") == 200
    for path in (
        f"/accounts/{peeters}/users",
        f"/accounts/{peeters}/devices",
        f"/accounts/{peeters}/users/new",
    ):
        assert _status(page, path) == 404, path
        assert "Page not found" in text(page)
        assert "Peeters" not in page.content()
    with live.platform.uow() as uow:
        jan = uow.users.find_by(email="jan@peeters.example")
        assert jan is not None
    assert _status(page, f"/accounts/{dupont}/users/{jan.id}") == 404  # another tenant's user, via our URL
    for path in ("/overview", "/partners", "/customers"):
        assert _status(page, path) == 404, path


@pytest.mark.rule("TEN-4")
def test_a_user_has_its_profile_and_calls_and_no_administration(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "bob@dupont.example")
    assert page.url.endswith("/profile")
    assert "Bob Martin" in text(page)
    assert _status(page, "/calls") == 200
    assert page.locator("h1").inner_text() == "My calls"
    assert _status(page, f"/accounts/{dupont}/users") == 403  # visible account, no permission
    assert "You may not do this" in text(page)


@pytest.mark.rule("TEN-4")
def test_a_partner_sees_its_customers_and_their_pages_only(page: Page, live: Live) -> None:
    peeters = live.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "pierre@bruvoice.example")
    assert page.url.endswith("/customers")
    shown = page.locator("#customers").inner_text()
    assert "Bakkerij Peeters" in shown
    assert "Atelier Dupont" not in shown
    assert "Cabinet Lemaire" not in shown
    page.click("text=Bakkerij Peeters")
    assert "Jan" in page.locator("#users").inner_text()
    assert _status(page, f"/accounts/{peeters}/numbers") == 200
    assert _status(page, f"/accounts/{dupont}/users") == 404
    assert _status(page, "/overview") == 404


def test_the_operator_sees_every_tenant_and_the_invoices(page: Page, live: Live) -> None:
    log_in(page, "olivia@nuage.example")
    assert page.url.endswith("/overview")
    shown = text(page)
    for name in ("Atelier Dupont", "Bakkerij Peeters", "Cabinet Lemaire", "Brussels Voice Partners"):
        assert name in shown
    assert _status(page, "/partners") == 200
    assert "BruVoice" in page.locator("#partners").inner_text()
    assert _status(page, "/customers") == 200
    assert _status(page, "/invoices") == 200
    assert page.locator("h1").inner_text() == "Invoices"


def test_a_user_created_in_the_portal_is_the_apis_user(page: Page, live: Live) -> None:
    log_in(page, "alice@dupont.example")
    page.click("#new-user")
    page.fill("#name", "Dora Portal")
    page.fill("#email", "dora@dupont.example")
    page.fill("#extension", "219")
    page.select_option("#language", "nl")
    with page.expect_navigation():
        page.click("#save")
    assert "The user was created." in text(page)
    assert "Dora Portal" in page.locator("#users").inner_text()
    token = httpx.post(
        f"{live.base}/api/v1/oauth/token",
        data={"grant_type": "password", "username": "alice@dupont.example"}
        | {"password": PASSWORDS["alice@dupont.example"]},
    ).json()["access_token"]
    found = httpx.get(
        f"{live.base}/api/v1/users",
        params={"email": "dora@dupont.example"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["items"]
    assert [(u["name"], u["extension"], u["language"]) for u in found] == [("Dora Portal", "219", "nl")]


@pytest.mark.rule("EMG-4")
def test_an_extension_on_an_emergency_number_is_refused_with_its_rule(page: Page, live: Live) -> None:
    log_in(page, "alice@dupont.example")
    page.click("#new-user")
    page.fill("#name", "Eve Emergency")
    page.fill("#extension", "112")
    with page.expect_navigation():
        page.click("#save")
    refusal = page.locator("#refusal").inner_text()
    assert "EMG-4" in refusal
    assert page.input_value("#name") == "Eve Emergency"  # the form keeps what was typed


@pytest.mark.rule("CFG-2")
def test_no_service_for_a_plain_user_is_refused_with_its_rule(page: Page, live: Live) -> None:
    log_in(page, "alice@dupont.example")
    page.click("#new-user")
    page.fill("#name", "Nora Noservice")
    page.check("#no_service")
    with page.expect_navigation():
        page.click("#save")
    assert "CFG-2" in page.locator("#refusal").inner_text()
    page.uncheck("#no_service")
    page.fill("#extension", "2x")  # the API's input model refuses it, in the API's words
    with page.expect_navigation():
        page.click("#save")
    assert page.locator("#refusal").inner_text().startswith("extension: ")


def test_the_language_switch_and_the_browsers_language(page: Page, browser: Browser, live: Live) -> None:
    log_in(page, "alice@dupont.example")
    with page.expect_navigation():
        page.click("button[name=language][value=fr]")
    assert page.locator("h2").first.inner_text() == "Utilisateurs"
    assert "Ajouter un utilisateur" in text(page)
    with page.expect_navigation():
        page.click("button[name=language][value=nl]")
    assert page.locator("h2").first.inner_text() == "Gebruikers"
    with live.platform.uow() as uow:
        alice = uow.users.find_by(email="alice@dupont.example")
        assert alice is not None
        assert alice.language == "nl"
    dutch = browser.new_context(base_url=live.base, locale="nl-BE")
    try:
        visitor = dutch.new_page()
        visitor.goto("/login")
        assert visitor.locator("h1").inner_text() == "Aanmelden"
    finally:
        dutch.close()


@pytest.mark.rule("TEN-2")
def test_a_partners_customers_see_its_brand_name_and_colours(
    page: Page, browser: Browser, live: Live
) -> None:
    log_in(page, "jan@peeters.example")  # Bakkerij Peeters, served by BruVoice
    assert page.locator("#brand-name").inner_text() == "BruVoice"
    header = page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header == "rgb(11, 83, 148)"  # #0b5394
    assert "support@bruvoice.example" in text(page)
    direct = browser.new_context(base_url=live.base, locale="en-GB")
    try:
        other = direct.new_page()
        log_in(other, "alice@dupont.example")  # a direct customer: the platform's brand
        assert other.locator("#brand-name").inner_text() == "Nuage"
        assert "BruVoice" not in other.content()
    finally:
        direct.close()


@pytest.mark.rule("CFG-5")
def test_a_lift_line_is_refused_with_its_rule_and_a_phone_shows_its_sip_password_once(
    page: Page, live: Live
) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/devices")
    page.fill("#label", "Lift cabin")
    page.select_option("#kind", "emergency_phone")
    page.select_option("#purpose", "lift")
    with page.expect_navigation():
        page.click("#add-device")
    assert "CFG-5" in page.locator("#refusal").inner_text()
    page.fill("#label", "Bob's desk")
    page.select_option("#kind", "desk_phone")
    page.select_option("#user_id", label="Bob Martin")
    page.select_option("#purpose", "telephony")
    with page.expect_navigation():
        page.click("#add-device")
    username = page.inner_text("#sip-username")
    password = page.inner_text("#sip-password")
    assert len(password) >= 12
    with live.platform.uow() as uow:
        device = uow.devices.find_by(sip_username=username)
        assert device is not None
        assert (device.label, device.account_id, device.sip_password) == ("Bob's desk", dupont, password)
    page.goto(f"/accounts/{dupont}/devices")
    assert "Bob's desk" in page.locator("#devices").inner_text()
    assert password not in page.content()  # SIP-5: shown once


@pytest.mark.rule("TEN-4")
def test_a_supervisor_sees_the_users_and_changes_nothing(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "chloe@dupont.example")
    assert page.url.endswith(f"/accounts/{dupont}/users")
    assert "Bob Martin" in page.locator("#users").inner_text()
    assert page.locator("#new-user").count() == 0
    page.click("text=Bob Martin")
    assert page.locator("fieldset[disabled]").count() == 1
    assert page.locator("#remove").count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf
    refused = page.request.post(
        f"/accounts/{dupont}/users/new", form={"csrf": csrf, "name": "Sneaky Supervisor"}, max_redirects=0
    )
    assert refused.status == 403
    with live.platform.uow() as uow:
        assert uow.users.find_by(name="Sneaky Supervisor") is None


@pytest.mark.rule("TEN-2")
def test_the_login_page_on_a_partners_host_wears_its_brand(live: Live) -> None:
    branded = httpx.get(f"{live.base}/login", headers={"Host": "portal.bruvoice.example"})
    assert branded.status_code == 200
    assert '<span class="brand" id="brand-name">BruVoice</span>' in branded.text
    assert "--brand: #0b5394" in branded.text
    plain = httpx.get(f"{live.base}/login")
    assert '<span class="brand" id="brand-name">Nuage</span>' in plain.text


@pytest.mark.rule("CFG-2")
@pytest.mark.rule("CFG-6")
def test_a_number_is_routed_to_a_user_and_never_to_a_no_service_one(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    with live.platform.uow() as uow:
        free = next(n for n in uow.numbers.list(account_id=dupont) if not (n.device_id or n.trunk_id))
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/numbers")
    page.select_option(f"#route-{free.id}", label="Chloé Lambert")  # a supervisor without service
    with page.expect_navigation():
        page.click(f"button[data-number='{free.e164}']")
    assert "CFG-2" in page.locator("#refusal").inner_text()
    page.select_option(f"#route-{free.id}", label="Bob Martin")
    with page.expect_navigation():
        page.click(f"button[data-number='{free.e164}']")
    assert "The number's routing was saved." in text(page)
    with live.platform.uow() as uow:
        routed = uow.numbers.get(free.id)
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
        assert routed.user_id == bob.id
