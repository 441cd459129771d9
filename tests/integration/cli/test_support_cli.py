"""``nuage support``: the operator records a call as a ticket out of hours, logs billable time on it,
runs a return, a port-out and a Telavox activation (SUP-1, SUP-2, BIL-5, HW-1, BIL-7, BIL-8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuage.bootstrap import build_platform
from nuage.cli import app
from nuage.config import Settings
from nuage.shared.clock import FrozenClock
from nuage.tenancy.model import PartyKind

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _customers(data: Path) -> tuple[str, str]:
    platform = build_platform(Settings(data_dir=data))
    try:
        with platform.uow() as uow:
            dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
            peeters = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Bakkerij Peeters")
            assert dupont is not None
            assert peeters is not None
            return dupont.id, peeters.id
    finally:
        platform.close()


@pytest.mark.rule("SUP-1")
@pytest.mark.rule("SUP-2")
@pytest.mark.rule("BIL-5")
@pytest.mark.rule("HW-1")
@pytest.mark.rule("BIL-7")
@pytest.mark.rule("BIL-8")
def test_the_operator_runs_the_support_desk_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    _ok(["demo", *data])
    dupont, peeters = _customers(tmp_path / "data")
    # the commands read the system clock: a Saturday makes the desk closed whatever day the test runs
    saturday = FrozenClock(datetime(2026, 2, 7, 9, tzinfo=UTC))
    monkeypatch.setattr("nuage.bootstrap.SystemClock", lambda: saturday)

    direct = _ok(
        [
            "support",
            "open",
            "--customer",
            dupont,
            "--category",
            "no_calls",
            "--subject",
            "No calls",
            "--description",
            "Nothing rings",
            *data,
        ]
    )
    assert " critical on duty " in direct
    assert "équipe de garde" in direct  # French, the customer's language
    indirect = _ok(
        [
            "support",
            "open",
            "--customer",
            peeters,
            "--category",
            "no_calls",
            "--subject",
            "Stil",
            "--description",
            "Geen oproepen",
            *data,
        ]
    )
    assert "on duty" not in indirect
    assert "behandeld vanaf 2026-02-09 08:30" in indirect
    ticket = direct.split()[0]
    queue = _ok(["support", "queue", *data])
    assert f"{ticket} {dupont} new critical on duty" in queue
    assert "[response at risk" in queue  # no opening time is left before the on-duty deadline
    assert "2 open ticket(s) (SUP-2)" in queue

    _ok(["support", "reply", "--ticket", ticket, "--body", "Called back", "--channel", "phone", *data])
    billed = _ok(
        [
            "support",
            "intervention",
            "--ticket",
            ticket,
            "--reason",
            "customer_change",
            "--minutes",
            "20",
            "--material",
            "Cable=12.50",
            *data,
        ]
    )
    assert (
        "55.00 EUR on the next invoice (BIL-5)" in billed
    )  # two started quarters at 85.00 an hour, and the cable
    shown = _ok(["support", "show", "--ticket", ticket, *data])
    assert "message (desk, phone): Called back" in shown
    assert "intervention" in shown

    item = _ok(
        [
            "support",
            "hardware-add",
            "--customer",
            dupont,
            "--model",
            "Yealink T54W",
            "--serial",
            "YL-9",
            "--delivered-on",
            "2025-01-02",
            *data,
        ]
    ).split()[0]
    assert "out of warranty" in _ok(["support", "hardware", "--customer", dupont, *data])
    rma = _ok(["support", "return", "--item", item, "--ticket", ticket, *data])
    assert "carriage paid by customer (15.00 EUR, HW-1)" in rma
    refused = runner.invoke(
        app, ["support", "return-step", "--rma", rma.split()[0], "--state", "repaired", *data]
    )
    assert refused.exit_code == 2
    _ok(["support", "return-step", "--rma", rma.split()[0], "--state", "authorised", *data])

    port = _ok(["support", "port-out", "--customer", dupont, "--number", "+3223000101", *data]).split()[0]
    again = runner.invoke(
        app, ["support", "port-out", "--customer", dupont, "--number", "+3223000101", *data]
    )
    assert again.exit_code == 2
    assert "BIL-7" in again.output

    _ok(["support", "port-step", "--port", port, "--state", "accepted", *data])
    assert "2026-02-07" in _ok(
        ["support", "port-step", "--port", port, "--state", "scheduled", "--port-on", "2026-02-07", *data]
    )
    assert "completed" in _ok(["support", "port-step", "--port", port, "--state", "completed", *data])

    assert "tvx-user licence" in _ok(["support", "ucaas-catalogue"])
    activation = _ok(
        ["support", "ucaas-activate", "--customer", dupont, "--item", "tvx-user", "--quantity", "2", *data]
    ).split()[0]
    _ok(["support", "ucaas-confirm", "--activation", activation, "--on", "2026-01-01", *data])
    assert "1 activation(s) charged for 2026-01" in _ok(
        ["support", "ucaas-bill", "--month", "2026-01", *data]
    )
    assert "0 activation(s) charged" in _ok(["support", "ucaas-bill", "--month", "2026-01", *data])
    assert "active until 2026-02-07" in _ok(
        ["support", "ucaas-deactivate", "--activation", activation, *data]
    )


@pytest.mark.rule("BIL-7")
@pytest.mark.rule("HW-1")
def test_the_operator_ports_a_number_in_and_issues_a_phone_its_provisioning_url(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    _ok(["demo", *data])
    dupont, _ = _customers(tmp_path / "data")
    port = _ok(["support", "port-in", "--customer", dupont, "--number", "+3227771234", *data])
    assert " in requested (BIL-7)" in port
    platform = build_platform(Settings(data_dir=tmp_path / "data"))
    try:
        with platform.uow() as uow:
            phone = next(d for d in uow.devices.list(account_id=dupont) if d.kind.value == "desk_phone")
            uow.devices.update(replace(phone, mac_address="00:15:65:0a:0b:0c"))
            uow.commit()
    finally:
        platform.close()
    issued = _ok(["support", "provision", "--device", phone.id, *data])
    assert f"{phone.id} yealink 0015650a0b0c: provisioning URL /provisioning/" in issued
