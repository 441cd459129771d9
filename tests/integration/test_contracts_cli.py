"""``nuage contracts`` as an operator runs it: show, preview a notice, confirm it, apply it, bankruptcy."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nuage.bootstrap import Platform
from nuage.cli import app
from nuage.tenancy.model import PartyKind

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.rule("CTR-2")
@pytest.mark.rule("CTR-4")
def test_notice_preview_confirm_apply_and_bankruptcy(platform: Platform) -> None:
    url = platform.settings.database_url
    target = ["--data-dir", str(platform.settings.data_dir)] + (["--database-url", url] if url else [])
    _ok(["demo", *target])
    with platform.uow() as uow:
        dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        lemaire = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Cabinet Lemaire")
    assert dupont is not None
    assert lemaire is not None
    platform.close()
    shown = _ok(["contracts", "show", "--customer", dupont.id, *target])
    assert "minimum term 24 months (until 2028-01-10) (CTR-1)" in shown
    assert "in service today: yes" in shown
    notice = ["contracts", "notice", "--customer", dupont.id, "--received-on", "2026-01-20", *target]
    preview = _ok(notice)
    assert "service ends on 2026-02-01" in preview
    assert "preview only: add --confirm" in preview
    assert "notice received" not in _ok(["contracts", "show", "--customer", dupont.id, *target])
    assert "notice recorded" in _ok([*notice, "--confirm"])
    assert "notice received 2026-01-20" in _ok(["contracts", "show", "--customer", dupont.id, *target])
    applied = _ok(["contracts", "apply", *target])  # the CLI's clock is the system's: long after February
    assert f"{dupont.id}: terminated (CTR-2)" in applied
    assert "0 contracts ended today" in _ok(["contracts", "apply", *target])
    bankrupt = _ok(["contracts", "bankruptcy", "--customer", lemaire.id, "--proof-on", "2026-02-10", *target])
    assert "bankrupt: proof dated 2026-02-10" in bankrupt
    bad = runner.invoke(
        app, ["contracts", "bankruptcy", "--customer", lemaire.id, "--proof-on", "10/02", *target]
    )
    assert bad.exit_code == 2
    assert "not a date (YYYY-MM-DD)" in bad.output


@pytest.mark.rule("CTR-2")
@pytest.mark.rule("CTR-4")
def test_reversals_and_the_audit_trail_from_the_command_line(platform: Platform) -> None:
    url = platform.settings.database_url
    target = ["--data-dir", str(platform.settings.data_dir)] + (["--database-url", url] if url else [])
    _ok(["demo", *target])
    with platform.uow() as uow:
        lemaire = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Cabinet Lemaire")
    assert lemaire is not None
    platform.close()
    _ok(["contracts", "bankruptcy", "--customer", lemaire.id, "--proof-on", "2026-02-10", *target])
    reversed_ = _ok(
        ["contracts", "reverse-bankruptcy", "--customer", lemaire.id, "--reason", "error", *target]
    )
    assert "in service today: yes" in reversed_
    history = _ok(["contracts", "history", "--customer", lemaire.id, *target])
    assert "bankruptcy-reversed" in history
    assert "CTR-4: bankruptcy reversed (error)" in history
    assert "2 events" in history
    none = runner.invoke(
        app, ["contracts", "withdraw-notice", "--customer", lemaire.id, "--reason", "x", *target]
    )
    assert none.exit_code == 2
    assert "no termination notice to withdraw" in none.output
