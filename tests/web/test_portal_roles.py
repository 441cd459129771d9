"""The portal per role: a supervisor only looks, another tenant's objects are not found (TEN-4), the
operator runs the SIP edge, the tenants and the billing runs, a partner its own customers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page

from nuage.directory.model import RoomUse
from nuage.services.billing.demo import demo_cdr_csv
from nuage.services.billing.queries import list_invoices
from nuage.services.context import Context
from nuage.services.directory.rooms import add_room
from nuage.sip.ports import BanRecord
from nuage.tenancy.model import PartyKind, PartyStatus
from web.conftest import Live, log_in, serving, text
from web.page_support import operator_api, post, run, shoot, status_of


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
        "status": "form[method=post][action*='/accounts/']",
        "calls": "form[method=post][action*='/accounts/']",
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
def test_the_operator_starts_a_billing_run_and_follows_it_to_its_end(
    page: Page, browser: Browser, live: Live
) -> None:
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
    assert re.search(r"/billing/runs/run_[0-9a-f]+$", page.url)
    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url))
    page.locator("#run-finished").wait_for(timeout=120_000)  # the page follows the run to its end
    assert loads == []  # server-sent events, not reloads
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
    first_run = page.url.rsplit("/", 1)[-1]

    # the runs are kept in storage: another web process (or this one restarted) shows them
    with serving(live.platform) as (other_base, _):
        other = browser.new_context(base_url=other_base, locale="en-GB")
        elsewhere = other.new_page()
        log_in(elsewhere, "olivia@nuage.example")
        elsewhere.goto("/billing/runs")
        listed = elsewhere.locator("#runs tr").all_inner_texts()[1:]
        assert len(listed) == 2
        assert all("2026-01" in row and "finished" in row for row in listed)
        elsewhere.goto(f"/billing/runs/{first_run}")
        assert elsewhere.locator("#run-invoices").inner_text() == "0"
        assert elsewhere.locator("#run-finished").count() == 1
        other.close()


@pytest.mark.rule("TEN-3")
@pytest.mark.rule("TEN-4")
def test_a_partner_orders_for_its_customer_and_for_no_one_else(page: Page, live: Live) -> None:
    peeters = live.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "pierre@bruvoice.example")
    page.click("a[href='/orders']")
    assert page.url.endswith("/orders")
    offered = page.locator("#customer_id option").all_inner_texts()
    assert "Bakkerij Peeters" in offered
    assert "Atelier Dupont" not in offered  # another partner's customer is not offered (TEN-4)
    page.select_option("#customer_id", peeters)
    page.fill("#terms_version", "2026-02-portal")
    page.select_option("#order-language", "nl")
    page.fill("#accepted_by", "Els Peeters")
    page.fill("#service_start_on", "2026-04-01")
    page.fill("#minimum_term_months", "0")
    page.fill("#item_1", "hardware:desk_phone")
    page.fill("#quantity_1", "2")
    with page.expect_navigation():
        page.click("#place-order")
    assert "minimum_term_months" in page.locator("#refusal").inner_text()  # the API's words
    assert page.input_value("#accepted_by") == "Els Peeters"  # what was typed stays
    page.fill("#minimum_term_months", "36")
    page.fill("#item_1", "hardware:desk_phone")
    page.fill("#quantity_1", "2")
    with page.expect_navigation():
        page.click("#place-order")
    assert page.url.endswith("/orders")  # POST/redirect/GET
    assert "The order was placed." in text(page)
    row = page.locator("#orders tr", has_text="Els Peeters").inner_text()
    assert "Bakkerij Peeters" in row
    assert "2026-02-portal (NL)" in row
    assert "36 months" in row
    assert "2 × hardware:desk_phone" in row
    page.reload()
    assert page.locator("#orders tr", has_text="Els Peeters").count() == 1  # a reload orders nothing
    with live.platform.uow() as uow:
        placed = uow.orders.list(customer_id=peeters, accepted_by="Els Peeters")
    assert [(o.terms_version, o.minimum_term_months, o.accepted_at) for o in placed] == [
        ("2026-02-portal", 36, live.clock.now())
    ]
    form = {"customer_id": dupont, "terms_version": "2026-01", "language": "fr", "accepted_by": "X"}
    form |= {"service_start_on": "2026-04-01", "minimum_term_months": "24"}
    assert post(page, "/orders", form) == 404  # another partner's customer (TEN-4)
    with live.platform.uow() as uow:
        assert uow.orders.list(customer_id=dupont, accepted_by="X") == []
    page.click("#logout")
    page.wait_for_url("**/login")
    log_in(page, "alice@dupont.example")
    assert status_of(page, "/orders") == 404  # a customer administrator orders through its partner
