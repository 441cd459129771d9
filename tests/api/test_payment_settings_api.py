"""BIL-4/PAY-1: the API renders invoices with the operator's ``[payments]`` settings, as the CLI does."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from nuage.bootstrap import build_platform
from nuage.cli import app as cli
from nuage.config import load_settings
from nuage.shared.clock import FrozenClock
from nuage.web.app import create_app

from .support import Api
from .test_billing_api import DUPONT, _bill_the_demo_month

IBAN, BIC = "BE71096123456769", "GKCCBEBB"


@pytest.fixture
async def configured_api(tmp_path: Path, demo_template: Path, clock: FrozenClock) -> AsyncIterator[Api]:
    """The demo's API with a bank account of its own in ``nuage.toml`` (not the built-in default)."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(demo_template, folder / "nuage.db")
    (folder / "nuage.toml").write_text(f'[payments]\niban = "{IBAN}"\nbic = "{BIC}"\npayment_days = 20\n')
    settings = load_settings(data_dir=folder, secret_key="test-signing-key-0123456789")
    platform = build_platform(settings, clock=clock)
    clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))
    try:
        application = create_app(platform)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://nuage.test/api/v1") as http:
            yield Api(http, platform, application)
    finally:
        platform.close()


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("PAY-1")
async def test_the_apis_pdf_and_ubl_show_the_configured_bank_account(
    configured_api: Api, tmp_path: Path
) -> None:
    api = configured_api
    assert api.platform.payments.iban == IBAN
    await _bill_the_demo_month(api)
    (header,) = (await api.get(DUPONT, "/invoices")).json()["items"]
    number = header["number"]
    ubl = await api.get(DUPONT, f"/invoices/{number}/ubl")
    assert ubl.status_code == 200, ubl.text
    assert f"<cbc:ID>{IBAN}</cbc:ID>".encode() in ubl.content
    assert b"<cbc:DueDate>2026-02-17</cbc:DueDate>" in ubl.content  # issued 28 January, 20 days
    assert b"BE68539007547034" not in ubl.content  # the built-in default account
    pdf = await api.get(DUPONT, f"/invoices/{number}/pdf")
    assert pdf.status_code == 200, pdf.text
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf.content)
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed"
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    assert IBAN in "".join(text.split())
    # the CLI, on the same data directory, reads the same settings: the same e-invoice
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        cli,
        ["invoices", "render", number, "--out", str(out), "--data-dir", str(api.platform.settings.data_dir)],
    )
    assert result.exit_code == 0, result.output
    assert (out / f"{number}.xml").read_bytes() == ubl.content
