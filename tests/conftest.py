"""Fixtures shared by every test: a frozen clock, real databases (SQLite, PostgreSQL), the e-invoice check."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from netports import free_port
from nuage.bootstrap import Platform
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import FrozenClock
from platforms import DATABASES, open_platform

POSTGRES_ADMIN_URL = os.environ.get("NUAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.rule("ID")`` must name a rule of the terms: a typo would hide an untested rule."""
    from nuage.shared.rules import RULES

    for item in items:
        for mark in item.iter_markers("rule"):
            if len(mark.args) != 1 or mark.args[0] not in RULES:
                raise pytest.UsageError(
                    f"{item.nodeid}: rule marker {mark.args!r} names no rule of the terms"
                )


@pytest.fixture(scope="session")
def einvoice_validator() -> EInvoiceValidator:
    """BIL-4: the offline e-invoice check (the composition root's), its rules compiled once."""
    from nuage.adapters.einvoice_validation import SaxonValidator

    validator = SaxonValidator()
    validator.warm()
    return validator


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen on a Tuesday morning in Brussels."""
    return FrozenClock(datetime(2026, 3, 10, 8, 30, tzinfo=UTC))


def _postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means "not available here"
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (for each worker of a parallel run), dropped at the end.

    Locally, a missing server skips the PostgreSQL tests with the reason; under CI it fails,
    because the CI script installs and starts PostgreSQL.
    """
    reason = _postgres_available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    import psycopg

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # each worker of a parallel run has its own
    name = f"nuage_test_{worker}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DATABASES)
def platform(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> Iterator[Platform]:
    """A migrated platform on SQLite (a file with WAL) and on PostgreSQL, with the frozen clock."""
    with open_platform(request, request.param, tmp_path, clock) as built:
        yield built


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[Message]]]:
    """A real SMTP server (aiosmtpd) on a free loopback port: its port, and the messages it took."""
    received: list[Message] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()
