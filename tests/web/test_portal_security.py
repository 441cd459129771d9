"""Portal security journeys in Chromium: a password then a TOTP code (used once), enrolment forced on
a partner administrator, the partner's branded host, a password reset from the e-mailed link
(aiosmtpd), the audit log per role, Dutch pages and formatting, and axe-core on every role's pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import Message
from email.parser import BytesParser
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from api.support import PASSWORDS
from netports import free_port, release
from nuage.config import PortalSettings
from nuage.services.billing.demo import demo_cdr_csv
from nuage.services.security import second_factor as second
from nuage.services.security.second_factor import code_at
from nuage.tenancy.model import PartyKind
from nuage.web.portal import i18n
from web.axe import assert_accessible
from web.conftest import CHROMIUM, Live, log_in, text
from web.test_portal_invoices import _api

PARTNER_HOST = "portal.bruvoice.example"  # BruVoice's own portal address (TEN-2), mapped to loopback


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, resolving the partner's portal host to loopback."""
    with sync_playwright() as playwright:
        args = ["--no-sandbox", f"--host-resolver-rules=MAP {PARTNER_HOST} 127.0.0.1"]
        found = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield found
        finally:
            found.close()


class Mailbox:
    """An SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Message] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(BytesParser(policy=default).parsebytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()
        release(box.port)


@pytest.fixture
def portal_settings(mailbox: Mailbox) -> PortalSettings:
    return PortalSettings(smtp_port=mailbox.port, mail_from="portal@nuage.example")


def _send_code(page: Page, code: str) -> None:
    page.fill("#code", code)
    with page.expect_navigation():
        page.click("#send-code")


def _password(page: Page, email: str, password: str | None = None) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password or PASSWORDS[email])
    with page.expect_navigation():
        page.click("#login")


def test_the_operator_logs_in_with_a_password_then_a_code_that_works_once(
    page: Page, browser: Browser, live: Live
) -> None:
    _password(page, "olivia@nuage.example")
    assert page.url.endswith("/login/code")
    assert_accessible(page)
    assert page.request.get("/overview", max_redirects=0).status == 303  # not logged in yet
    _send_code(page, "000000" if live.code("olivia@nuage.example") != "000000" else "111111")
    assert "This code is not right" in page.locator("#refusal").inner_text()
    code = code_at("NUAGEDEMOOPERATOROLIVIA234567ABC", live.clock.now())
    _send_code(page, code)
    assert page.url.endswith("/overview")
    other = browser.new_context(base_url=live.base, locale="en-GB")
    try:  # the same code, seen over a shoulder, does not open a second session
        thief = other.new_page()
        _password(thief, "olivia@nuage.example")
        _send_code(thief, code)
        assert thief.url.endswith("/login/code")
        assert "already used" in thief.locator("#refusal").inner_text()
    finally:
        other.close()
    page.goto("/audit")
    first = page.locator("#audit tbody tr").first.inner_text()
    assert "Olivia" in first
    assert "login" in first
    assert "127.0.0.1" in first
    assert_accessible(page)


def test_a_partner_administrator_must_enrol_then_logs_in_on_its_branded_host(
    context: BrowserContext, live: Live
) -> None:
    with live.platform.uow() as uow:  # Pierre (BruVoice) has no second factor yet
        pierre = uow.users.find_by(email="pierre@bruvoice.example")
        assert pierre is not None
        uow.security.factors.remove(pierre.id)
        uow.commit()
    branded = live.base.replace("127.0.0.1", PARTNER_HOST)
    page = context.new_page()
    page.goto(f"{branded}/login")
    assert page.locator("#brand-name").inner_text() == "BruVoice"
    page.fill("#email", "pierre@bruvoice.example")
    page.fill("#password", PASSWORDS["pierre@bruvoice.example"])
    with page.expect_navigation():
        page.click("#login")
    assert page.url == f"{branded}/security"  # sent to enrolment, whatever it asks for
    assert page.locator("#must-enrol").count() == 1
    page.goto(f"{branded}/customers")
    assert page.url == f"{branded}/security"
    assert page.locator(".qr svg").count() == 1  # the otpauth URI as a QR code, drawn on the server
    assert_accessible(page)
    secret = page.inner_text("#secret").replace(" ", "")
    page.fill("#code", code_at(secret, live.clock.now()))
    with page.expect_navigation():
        page.click("#enable-factor")
    codes = [c.strip() for c in page.locator("#recovery-codes li").all_inner_texts()]
    assert len(codes) == 10
    page.goto(f"{branded}/customers")
    assert page.url == f"{branded}/customers"
    assert page.locator("#brand-name").inner_text() == "BruVoice"
    with page.expect_navigation():
        page.click("#logout")
    page.fill("#email", "pierre@bruvoice.example")  # again, with a recovery code this time
    page.fill("#password", PASSWORDS["pierre@bruvoice.example"])
    with page.expect_navigation():
        page.click("#login")
    assert page.url == f"{branded}/login/code"
    assert page.locator("#brand-name").inner_text() == "BruVoice"
    _send_code(page, codes[0])
    assert page.url == f"{branded}/customers"
    page.goto(f"{branded}/security")
    assert "Unused recovery codes: 9" in text(page)
    assert page.locator("#remove-factor").count() == 0  # a partner administrator keeps it
    with page.expect_navigation():
        page.click("#renew-codes")
    renewed = [c.strip() for c in page.locator("#recovery-codes li").all_inner_texts()]
    assert len(renewed) == 10
    assert page.url == f"{branded}/security/recovery-codes"  # POST/redirect/GET
    page.reload()  # shown once: a reload renews nothing and shows the security page
    assert page.url == f"{branded}/security"
    assert page.locator("#recovery-codes").count() == 0
    assert "Unused recovery codes: 10" in text(page)
    assert not set(renewed) & set(codes)
    with live.platform.uow() as uow:  # the old unused codes no longer open a login
        assert not second.check(uow, pierre.id, codes[1], live.clock.now())
        assert second.check(uow, pierre.id, renewed[0], live.clock.now())


def test_a_forgotten_password_is_reset_from_the_emailed_link_once(
    context: BrowserContext, live: Live, mailbox: Mailbox
) -> None:
    branded = live.base.replace("127.0.0.1", PARTNER_HOST)
    page = context.new_page()
    page.goto(f"{branded}/login")
    with page.expect_navigation():
        page.click("#forgot")
    page.fill("#email", "nobody@peeters.example")
    with page.expect_navigation():
        page.click("#send-reset")
    unknown = page.inner_text("#reset-sent")
    assert mailbox.received == []  # no e-mail, and the same page as for a known address
    page.goto(f"{branded}/password-reset")
    assert_accessible(page)
    page.fill("#email", "Jan@Peeters.example")
    with page.expect_navigation():
        page.click("#send-reset")
    assert page.inner_text("#reset-sent") == unknown
    assert page.url == f"{branded}/password-reset"  # POST/redirect/GET
    page.reload()  # asks for the page again: no second e-mail, the notice shown once
    assert page.locator("#reset-sent").count() == 0
    (mail,) = mailbox.received
    assert mail["To"] == "jan@peeters.example"
    assert mail["Subject"] == "BruVoice: kies een nieuw wachtwoord"  # Jan's language, its partner's brand
    body = mail.get_content()
    link = re.search(r"http://\S+/password-reset/\S+", body)
    assert link is not None
    assert link.group(0).startswith(f"{branded}/password-reset/")
    page.goto(link.group(0))
    assert_accessible(page)
    page.fill("#new-password", "Amber-Canal-Bicycle-42")
    page.fill("#confirm", "Amber-Canal-Bicycle-43")
    with page.expect_navigation():
        page.click("#set-password")
    assert page.locator("#mismatch").count() == 1
    page.fill("#new-password", "password123")
    page.fill("#confirm", "password123")
    with page.expect_navigation():
        page.click("#set-password")
    assert page.locator("#refusal").count() == 1  # the password policy
    page.fill("#new-password", "Amber-Canal-Bicycle-42")
    page.fill("#confirm", "Amber-Canal-Bicycle-42")
    with page.expect_navigation():
        page.click("#set-password")
    assert page.url == f"{branded}/login"
    assert "Your new password is set: log in with it." in text(page)
    page.goto(link.group(0))
    assert page.locator("#reset-expired").count() == 1  # a link works once
    _password(page, "jan@peeters.example")  # the old password no longer opens anything
    assert page.url.endswith("/login")
    log_in(page, "jan@peeters.example", "Amber-Canal-Bicycle-42")
    assert "/accounts/" in page.url


@pytest.mark.rule("TEN-4")
def test_the_audit_log_shows_each_administrator_its_scope_and_nobody_else_anything(
    page: Page, browser: Browser, live: Live
) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    with live.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
    log_in(page, "alice@dupont.example")
    page.click("text=Bob Martin")
    page.fill("#extension", "219")
    with page.expect_navigation():
        page.click("#save")
    page.goto(f"/accounts/{dupont}/devices")
    page.fill("#label", "Audited phone")
    with page.expect_navigation():
        page.click("#add-device")
    page.goto("/audit")
    rows = page.locator("#audit tbody tr").all_inner_texts()
    change = next(r for r in rows if f"/accounts/{dupont}/users/" in r)
    assert "Alice" in change
    assert "Atelier Dupont" in change
    assert "127.0.0.1" in change
    # who did what to which object, with what outcome: in words, the request beside it
    assert "Changed · user · Bob Martin" in change
    assert "done" in change
    edited = page.locator(f"#audit tbody tr[data-object-id='{bob.id}']")
    assert edited.get_attribute("data-verb") == "changed"
    assert edited.get_attribute("data-object-type") == "user"
    added = page.locator("#audit tbody tr[data-object-type='device']").first
    assert added.get_attribute("data-verb") == "created"
    assert "Created · device" in added.inner_text()
    seen: dict[str, str] = {}
    for who in ("jan@peeters.example", "olivia@nuage.example", "bob@dupont.example"):
        other = browser.new_context(base_url=live.base, locale="en-GB")
        try:
            visitor = other.new_page()
            log_in(visitor, who)
            answer = visitor.goto("/audit")
            assert answer is not None
            seen[who] = f"{answer.status} {text(visitor)}"
        finally:
            other.close()
    assert f"/accounts/{dupont}/users/" not in seen["jan@peeters.example"]  # another customer
    assert f"/accounts/{dupont}/users/" in seen["olivia@nuage.example"]  # the operator sees all
    assert seen["bob@dupont.example"].startswith("404")  # a plain user has no audit log


def test_switching_to_dutch_shows_dutch_words_dates_and_money(page: Page, live: Live) -> None:
    live.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))
    with live.platform.uow() as uow:
        cdrs = demo_cdr_csv(uow)
    with _api(live, "demo-operator") as operator:
        operator.post("/billing/counts", json={"month": "2026-01"}).raise_for_status()
        operator.post("/billing/cdr-imports", content=cdrs.encode(), headers={"Content-Type": "text/csv"})
        operator.post("/billing/ratings").raise_for_status()
        operator.post("/billing/runs", json={"period": "2026-01", "run_on": "2026-01-28"}).raise_for_status()
    with _api(live, "demo-dupont") as dupont:
        (invoice, *_) = dupont.get("/invoices").json()["items"]
    log_in(page, "alice@dupont.example")
    page.goto("/invoices")
    with page.expect_navigation():
        page.click("button[name=language][value=nl]")
    assert page.locator("html").get_attribute("lang") == "nl"
    listed = page.locator("#invoices").inner_text()
    gross = i18n.money(Decimal(str(invoice["gross"])), invoice["currency"], "nl")
    issued = i18n.day(date.fromisoformat(invoice["issue_on"]), "nl")
    assert gross in listed
    assert gross.startswith("€")  # nl_BE: the sign first, a comma before the cents
    assert re.search(r"\d,\d\d$", gross)
    assert issued in listed
    assert_accessible(page)
    page.goto("/security")
    assert page.locator("h1").inner_text() == "Beveiliging"
    page.goto("/audit")
    assert page.locator("h1").inner_text() == "Auditlogboek"
    when = page.locator("#audit tbody tr td").first.inner_text()
    assert when == i18n.moment(live.clock.now(), "nl")  # 03/02/2026, 09:00 on the Brussels clock


@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_roles_main_pages_have_no_serious_accessibility_violation(
    browser: Browser, live: Live, language: str
) -> None:
    dupont = f"/accounts/{live.party_id(PartyKind.CUSTOMER, 'Atelier Dupont')}"
    pages = {
        "olivia@nuage.example": ["/overview", "/partners", "/customers", "/invoices", "/audit", "/security"],
        "pierre@bruvoice.example": ["/customers", "/orders", "/invoices", "/audit", "/profile"],
        "alice@dupont.example": [f"{dupont}/users", f"{dupont}/devices", f"{dupont}/numbers", "/audit"],
        "bob@dupont.example": ["/profile", "/calls", "/security"],
    }
    for who, paths in pages.items():
        made = browser.new_context(base_url=live.base, locale="nl-BE" if language == "nl" else "en-GB")
        try:
            page = made.new_page()
            page.goto("/login")
            assert_accessible(page)
            log_in(page, who)
            for path in paths:
                page.goto(path)
                assert page.locator("html").get_attribute("lang") in (language, "fr")  # a user's own choice
                assert_accessible(page)
        finally:
            made.close()
