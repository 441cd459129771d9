"""The portal's doors: nothing but the login page without a session, the session cookie, CSRF
tokens on every form, logout, expiry, and the API's login throttle."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import BrowserContext, Page

from web.conftest import Live, log_in, text


def test_without_a_session_only_the_login_page_shows_and_no_tenant(page: Page, live: Live) -> None:
    for path in ("/", "/overview", "/customers", "/partners", "/invoices", "/profile"):
        page.goto(path)
        assert page.url.endswith("/login"), path
    shown = page.content()
    assert "Dupont" not in shown
    assert "Peeters" not in shown
    assert "cus_" not in shown
    assert page.locator("h1").inner_text() == "Log in"


def test_login_sets_a_strict_session_cookie_and_logout_ends_it(
    page: Page, context: BrowserContext, live: Live
) -> None:
    log_in(page, "alice@dupont.example")
    assert "/users" in page.url
    assert "Bob Martin" in text(page)
    (cookie,) = [c for c in context.cookies() if c["name"] == "nuage_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain HTTP here; over HTTPS the cookie is Secure
    assert cookie["expires"] == -1  # gone with the browser
    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto("/")
    assert page.url.endswith("/login")
    answer = page.request.get("/profile", max_redirects=0)
    assert answer.status == 303
    assert answer.headers["location"] == "/login"


def test_a_wrong_password_is_refused_and_the_api_throttle_slows_the_account(page: Page, live: Live) -> None:
    for _ in range(6):  # five free failures of an account from one address ([api.login]), then a wait
        log_in(page, "alice@dupont.example", "not-the-password")
        assert "Wrong e-mail or password." in text(page)
    log_in(page, "alice@dupont.example")  # even the right password waits: the API's throttle
    assert "Too many failed logins: try again in 1 s." in text(page)
    assert page.url.endswith("/login")
    live.clock.advance(timedelta(seconds=2))
    log_in(page, "alice@dupont.example")
    assert "/users" in page.url


def test_a_form_without_its_csrf_token_is_refused(page: Page, live: Live) -> None:
    log_in(page, "alice@dupont.example")
    account = page.url.split("/accounts/")[1].split("/")[0]
    forged = page.request.post(
        f"/accounts/{account}/users/new", form={"name": "Mallory Forged", "role": "user"}, max_redirects=0
    )
    assert forged.status == 403
    assert "csrf" in forged.text()
    wrong = page.request.post(
        f"/accounts/{account}/users/new", form={"name": "Mallory Forged", "csrf": "guess"}, max_redirects=0
    )
    assert wrong.status == 403
    with live.platform.uow() as uow:
        assert uow.users.find_by(name="Mallory Forged") is None
    login = page.request.post("/login", form={"email": "alice@dupont.example", "password": "x"})
    assert login.status == 403  # the login form has its token too


def test_a_session_ends_after_half_an_hour_without_a_click(page: Page, live: Live) -> None:
    log_in(page, "alice@dupont.example")
    live.clock.advance(timedelta(minutes=29))
    page.reload()
    assert "/users" in page.url
    live.clock.advance(timedelta(minutes=31))
    page.reload()
    assert page.url.endswith("/login")


def test_pages_carry_the_nonce_policy_and_only_the_portals_own_script(page: Page, live: Live) -> None:
    answer = page.goto("/login")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "form-action 'self'" in policy
    assert "script-src 'self';" in policy  # the portal's script file, no inline script, no eval
    assert "unsafe" not in policy
    assert "<script" not in page.content()  # the login page has no live part
    assert answer.headers["cache-control"] == "no-store"
