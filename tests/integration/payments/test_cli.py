"""``nuage invoices``, ``nuage payments`` and ``nuage dunning`` as a new user runs them, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuage.cli import app
from nuage.documents.reference import reference_for
from nuage.payments.camt import BankEntry, write_camt053

from .conftest import Month1

runner = CliRunner()


def _target(month1: Month1) -> list[str]:
    settings = month1.platform.settings
    url = settings.database_url
    return ["--data-dir", str(settings.data_dir)] + (["--database-url", url] if url else [])


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("PAY-1")
@pytest.mark.rule("PAY-2")
def test_render_import_and_dunning_commands(month1: Month1, tmp_path: Path) -> None:
    number = month1.numbers["Atelier Dupont"]
    target = _target(month1)
    result = runner.invoke(app, ["invoices", "render", number, "--out", str(tmp_path), *target])
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{number}.pdf").read_bytes().startswith(b"%PDF")
    assert b"urn:fdc:peppol.eu:2017:poacc:billing:3.0" in (tmp_path / f"{number}.xml").read_bytes()
    result = runner.invoke(
        app, ["invoices", "render", number, "--language", "nl", "--out", str(tmp_path), *target]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{number}.nl.pdf").is_file()
    entry = BankEntry(
        "S1", "E1", Decimal("50.00"), "EUR", True, date(2026, 2, 20), reference_for(number), "D", None
    )
    statement = tmp_path / "statement.xml"
    statement.write_bytes(write_camt053("S1", "BE68539007547034", (entry,)))
    result = runner.invoke(app, ["payments", "import-camt", str(statement), *target])
    assert result.exit_code == 0, result.output
    assert f"matched E1: 50.00 EUR -> {number}" in result.output
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<Document>")
    result = runner.invoke(app, ["payments", "import-camt", str(broken), *target])
    assert result.exit_code == 2
    # read as a stream, the root (no camt.053 namespace) is refused before the end that is missing
    assert "malformed camt.053 statement: namespace None is not camt.053.001.NN" in result.output
    result = runner.invoke(app, ["dunning", "run", "--on", "2026-03-12", *target])
    assert result.exit_code == 0, result.output
    assert f"reminder 1 for {number}: 52.03 EUR due" in result.output
    dupont = month1.ids["Atelier Dupont"]
    assert runner.invoke(app, ["dunning", "run", "--on", "2026-03-13", *target]).exit_code == 0
    status = runner.invoke(app, ["dunning", "status", "--party", dupont, *target])
    assert status.exit_code == 0, status.output
    assert f"{number}  due 2026-03-05  unpaid" in status.output
    assert "reminder sent: 1 on 2026-03-12; next: 2 on 2026-03-19" in status.output  # in order (PAY-1)
    balances = runner.invoke(app, ["payments", "balances", *target])
    assert balances.exit_code == 0, balances.output
    assert "of which services" in balances.output  # 1 % interest of March is charged (PAY-2)
