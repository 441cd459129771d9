"""One's own profile (language, password) and an administrator's edits and removals, through the
same use cases as the API: their effects show in the API at once."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page

from api.support import PASSWORDS
from web.conftest import Live, log_in, text

NEW_PASSWORD = "Lantern-Orchard-Quartz-71"


def _token(live: Live, email: str, password: str) -> str:
    answer = httpx.post(
        f"{live.base}/api/v1/oauth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _me(live: Live, token: str) -> int:
    return httpx.get(f"{live.base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_password_change_keeps_this_browser_and_ends_the_others_and_the_tokens(
    page: Page, browser: Browser, live: Live
) -> None:
    email = "bob@dupont.example"
    token = _token(live, email, PASSWORDS[email])
    elsewhere = browser.new_context(base_url=live.base)
    try:
        other = elsewhere.new_page()
        log_in(other, email)
        assert other.url.endswith("/profile")
        log_in(page, email)
        page.fill("#current", "not-my-password")
        page.fill("#new-password", NEW_PASSWORD)
        with page.expect_navigation():
            page.click("#change-password")
        assert "Your current password is not right." in text(page)
        page.fill("#current", PASSWORDS[email])
        page.fill("#new-password", "bob@dupont.example")
        with page.expect_navigation():
            page.click("#change-password")
        assert "must not be or contain your e-mail address" in page.locator("#refusal").inner_text()
        page.fill("#current", PASSWORDS[email])
        page.fill("#new-password", NEW_PASSWORD)
        with page.expect_navigation():
            page.click("#change-password")
        assert "Your password was changed." in text(page)
        page.goto("/calls")
        assert page.url.endswith("/calls")  # this browser stays logged in
        other.goto("/profile")
        assert other.url.endswith("/login")  # the other browser's session ended
    finally:
        elsewhere.close()
    assert _me(live, token) == 401  # the API's tokens of the old password too
    assert _me(live, _token(live, email, NEW_PASSWORD)) == 200


def test_an_administrator_edits_and_removes_a_user_and_the_api_follows(page: Page, live: Live) -> None:
    bob_token = _token(live, "bob@dupont.example", PASSWORDS["bob@dupont.example"])
    log_in(page, "alice@dupont.example")
    page.click("text=Bob Martin")
    page.fill("#extension", "218")
    page.select_option("#role", "supervisor")
    with page.expect_navigation():
        page.click("#save")
    assert "The user was saved." in text(page)
    row = page.locator("#users tr", has_text="Bob Martin").inner_text()
    assert "218" in row
    assert "supervisor" in row
    with live.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
        assert (bob.extension, bob.role.value) == ("218", "supervisor")
    assert _me(live, bob_token) == 401  # a changed role ends the tokens carrying the old one
    page.click("text=Bob Martin")
    with page.expect_navigation():
        page.click("#remove")
    assert "The user was removed." in text(page)
    assert "Bob Martin" not in page.locator("#users").inner_text()
    with live.platform.uow() as uow:
        assert uow.users.find_by(email="bob@dupont.example") is None
