"""``nuage audit``: the operator reads a customer's declaration findings and regularises one (CNT-4)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuage.bootstrap import build_platform
from nuage.cli import app
from nuage.config import Settings
from nuage.directory.model import DeviceKind
from nuage.services.context import Context
from nuage.services.directory.devices import add_device
from nuage.shared.clock import FrozenClock
from nuage.tenancy.model import PartyKind

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.rule("CNT-4")
def test_the_operator_sees_the_findings_and_regularises_one(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    _ok(["demo", *data])
    platform = build_platform(
        Settings(data_dir=tmp_path / "data"), clock=FrozenClock(datetime(2026, 2, 3, tzinfo=UTC))
    )
    try:
        with platform.uow() as uow:
            dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
            assert dupont is not None
            bob = uow.users.find_by(account_id=dupont.id, name="Bob Martin")
            assert bob is not None
            operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
            assert operator is not None
            ctx = Context.operator(operator.id, platform.clock)
            for n in range(2):  # with the one he has: three desk phones, one more than a person uses
                add_device(uow, ctx, dupont.id, DeviceKind.DESK_PHONE, f"Desk {n}", user_id=bob.id)
            uow.commit()
    finally:
        platform.close()
    shown = _ok(["audit", "show", "--customer", dupont.id, *data])
    assert "excess_desk_phones:" in shown
    assert "(CNT-4)" in shown
    key = next(word for word in shown.split() if word.startswith("excess_desk_phones:"))
    early = runner.invoke(app, ["audit", "regularise", "--customer", dupont.id, "--finding", key, *data])
    assert early.exit_code == 2
    assert "(CNT-4)" in early.output
    _ok(["billing", "count", "--month", "2026-01", *data])
    _ok(["billing", "run", "--period", "2026-01", "--run-on", "2026-01-28", *data])
    done = _ok(["audit", "regularise", "--customer", dupont.id, "--finding", key, *data])
    assert "regularised (CNT-4): 1 user x 2 months (2026-01..2026-02)" in done
    assert "on the next invoice" in done
    assert "regularised (CNT-4)" in _ok(["audit", "show", "--customer", dupont.id, *data])
    twice = runner.invoke(app, ["audit", "regularise", "--customer", dupont.id, "--finding", key, *data])
    assert twice.exit_code == 2
    assert "already regularised" in twice.output


@pytest.mark.rule("EMG-2")
def test_the_operator_lists_who_would_present_a_wrong_place(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    _ok(["demo", *data])
    platform = build_platform(Settings(data_dir=tmp_path / "data"))
    try:
        with platform.uow() as uow:
            dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
            operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
            assert dupont is not None
            assert operator is not None
            bob = uow.users.find_by(account_id=dupont.id, name="Bob Martin")
            assert bob is not None
            ctx = Context.operator(operator.id, platform.clock)
            away = add_device(
                uow,
                ctx,
                dupont.id,
                DeviceKind.DESK_PHONE,
                "Annex",
                user_id=bob.id,
                site="Avenue Louise 1, 1050 Ixelles",
            )
            uow.commit()
    finally:
        platform.close()
    listed = _ok(["audit", "emergency", *data])
    assert f"{dupont.id} device {away.id} [EMG-2]" in listed
    assert "Avenue Louise 1" in listed
    assert "would present a wrong or unknown place (EMG-2)" in listed
