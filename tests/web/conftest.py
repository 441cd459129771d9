"""Portal fixtures: the demo on a real web server (uvicorn, loopback) and Debian's Chromium driven
by Playwright (the system browser: nothing is downloaded at run time)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from api.support import PASSWORDS, make_platform, seed_demo
from netports import free_port, release
from nuage.bootstrap import Platform, build_platform
from nuage.config import PortalSettings, Settings
from nuage.services.security.demo import DEMO_SECRETS, seed_demo_factors
from nuage.services.security.second_factor import STEP_S, code_at
from nuage.shared import ids
from nuage.shared.clock import FrozenClock
from nuage.tenancy.model import PartyKind
from nuage.web.app import create_app
from platforms import DATABASES, migrated_platform, wipe
from waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
TEST_KEY = "test-signing-key-0123456789"
DEMO_INSTANT = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)  # the tests' clock (tests/conftest.py)


class _SeededIds:
    """What ``nuage.shared.ids`` draws its ids from, seeded: the demo's ids are the same on every
    run (the pages list by name, then id; the screenshots show the same rows)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._ns = int(DEMO_INSTANT.timestamp()) * 1_000_000_000

    def token_hex(self, size: int) -> str:
        return self._random.randbytes(size).hex()

    def time_ns(self) -> int:
        self._ns += 1_000
        return self._ns


@contextmanager
def fixed_ids(seed: int = 17) -> Iterator[None]:
    """The demo's ids drawn from a seeded source while it is loaded (nothing else is affected)."""
    seeded = _SeededIds(seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ids, "secrets", seeded)
        patch.setattr(ids, "time", seeded)
        yield


@pytest.fixture(scope="session")
def portal_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the demo, built once and copied for each test."""
    folder = tmp_path_factory.mktemp("portal-template")
    # the demo made at the tests' instant (its dates on the pages and in the screenshots never move)
    made = FrozenClock(DEMO_INSTANT)
    platform = build_platform(Settings(data_dir=folder, secret_key=TEST_KEY), migrate=True, clock=made)
    try:
        with fixed_ids():
            seed_demo(platform)
            with platform.uow() as uow:  # the operator's and partners' administrators have a second factor
                seed_demo_factors(uow, platform.clock.now())
                uow.commit()
    finally:
        platform.close()
    return folder / "nuage.db"


@dataclass
class Live:
    """The portal of a fresh demo on a real server."""

    base: str
    platform: Platform
    clock: FrozenClock
    used_steps: dict[str, int] = field(default_factory=dict)  # the demo's second factors: a code works once
    app: Any = None  # the web application (its portal: ``app.state.portal``)

    def code(self, email: str) -> str:
        """The current TOTP code of a demo login (the clock moves one step on when this step's code
        was used: a code is refused a second time)."""
        step = int(self.clock.now().timestamp()) // STEP_S
        if self.used_steps.get(email, -1) >= step:
            self.clock.advance(timedelta(seconds=STEP_S))
            step += 1
        self.used_steps[email] = step
        return code_at(DEMO_SECRETS[email], self.clock.now())

    def party_id(self, kind: PartyKind, name: str) -> str:
        with self.platform.uow() as uow:
            party = uow.parties.find_by(kind=kind.value, name=name)
            assert party is not None
            return party.id


@pytest.fixture
def portal_settings() -> PortalSettings | None:
    """The ``[portal]`` settings of one test's server (None: the defaults)."""
    return None


@pytest.fixture
def portal_database(request: pytest.FixtureRequest) -> str:
    """The database under the portal: SQLite by default; a module that runs its journeys on
    PostgreSQL too parametrises it (``pytestmark = ON_BOTH_DATABASES``)."""
    return str(getattr(request, "param", "sqlite"))


ON_BOTH_DATABASES = pytest.mark.parametrize("portal_database", DATABASES, indirect=True)


def _postgres_demo(request: pytest.FixtureRequest, folder: Path, clock: FrozenClock) -> Platform:
    """The demo (and its administrators' second factors) on the run's PostgreSQL database, emptied
    first (the tables that hold rows), migrated if it is not at the newest revision: the same data
    as the SQLite template."""
    url = request.getfixturevalue("postgres_url")
    settings = Settings(data_dir=folder, database_url=url, secret_key=TEST_KEY)
    platform = migrated_platform(settings, clock)
    wipe(platform)
    with fixed_ids():
        seed_demo(platform)
        with platform.uow() as uow:
            seed_demo_factors(uow, clock.now())
            uow.commit()
    return platform


@pytest.fixture
def live(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    portal_template: Path,
    clock: FrozenClock,
    portal_settings: PortalSettings | None,
    portal_database: str,
) -> Iterator[Live]:
    """uvicorn serving the web application (API and portal) on a free loopback port, in a thread,
    over a fresh copy of the demo (SQLite, or PostgreSQL for the modules that ask for both)."""
    if portal_database == "postgresql":
        platform = _postgres_demo(request, tmp_path / "data", clock)
    else:
        platform = make_platform(tmp_path / "data", portal_template, clock)
    if portal_settings is not None:
        platform.settings.portal = portal_settings
    try:
        with serving(platform) as (base, app):
            found = Live(base, platform, clock, app=app)
            LIVE[0:] = [found]
            yield found
    finally:
        LIVE.clear()
        platform.close()


@contextmanager
def serving(platform: Platform) -> Iterator[tuple[str, Any]]:
    """A web process of its own (uvicorn, a thread, a free loopback port) over ``platform``: its
    address and application. A second one over the same platform is another web node."""
    port = free_port()
    app = create_app(platform)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30, what="the portal's web server")
        yield f"http://127.0.0.1:{port}", app
    finally:
        app.state.portal.live.close()  # open event streams end, so the server stops at once
        server.should_exit = True
        thread.join(timeout=30)
        release(port)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (per module: Playwright's own loop ends before other modules' tests)."""
    assert CHROMIUM.exists(), "the portal tests need Debian's chromium (scripts/install --test installs it)"
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield found
        finally:
            found.close()


@pytest.fixture
def context(browser: Browser, live: Live) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies), in English unless a test asks otherwise."""
    made = browser.new_context(base_url=live.base, locale="en-GB")
    made.set_default_timeout(15_000)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


LIVE: list[Live] = []  # the running test's portal (log_in types its second factor's codes)


def log_in(page: Page, email: str, password: str | None = None) -> None:
    """Fill in and send the login form (and the code of a demo login with a second factor); wait
    for the page it lands on."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password or PASSWORDS[email])
    with page.expect_navigation():
        page.click("#login")
    if page.url.endswith("/login/code"):
        page.fill("#code", LIVE[-1].code(email))
        with page.expect_navigation():
            page.click("#send-code")


def text(page: Page) -> Any:
    """The page's visible text."""
    return page.inner_text("body")
