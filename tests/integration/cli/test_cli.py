"""The ``nuage`` command as a person runs it: help, db upgrade, demo, serve."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from netports import free_port
from nuage.cli import app
from nuage.services.security.demo import DEMO_SECRETS
from nuage.services.security.second_factor import code_at
from waiting import wait_until

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["serve"], ["demo"], ["db", "upgrade"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    if command:
        assert "--data-dir" in result.output


def test_db_upgrade_then_demo_twice(tmp_path: Path) -> None:
    data = tmp_path / "data"
    upgraded = runner.invoke(app, ["db", "upgrade", "--data-dir", str(data)])
    assert upgraded.exit_code == 0, upgraded.output
    assert (data / "nuage.db").exists()
    first = runner.invoke(app, ["demo", "--data-dir", str(data)])
    assert first.exit_code == 0, first.output
    assert "user=alice" in first.output
    assert "Alice-Demo-2026" in first.output
    second = runner.invoke(app, ["demo"], env={"NUAGE_DATA_DIR": str(data)})
    assert second.exit_code == 0, second.output
    assert "(0 items created" in second.output
    for output in (first.output, second.output):  # the operator's second factor, to add to an app
        assert "olivia@nuage.example           secret=NUAGEDEMOOPERATOROLIVIA234567ABC" in output
        assert "otpauth://totp/Nuage%20demo:olivia%40nuage.example?secret=" in output


def test_serve_refuses_a_malformed_address_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path), "--http", "localhost"])
    assert result.exit_code == 2
    assert "--http" in result.output
    assert "HOST:PORT" in result.output


@pytest.mark.parametrize("command", [["serve"], ["demo"], ["db", "upgrade"]])
def test_an_unknown_config_key_ends_a_command_with_one_line_naming_it(
    command: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "nuage.toml"
    config.write_text("[sip]\nprot = 5070\n")
    result = runner.invoke(app, [*command, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: unknown setting sip.prot in {config}"


def test_an_unknown_variable_ends_the_installed_command_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "NUAGE_DATA_DIR": str(tmp_path), "NUAGE_SIP__PROT": "5070"}
    done = subprocess.run(
        [sys.executable, "-m", "nuage", "serve"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stdout == ""
    expected = "error: unknown setting in the environment: NUAGE_SIP__PROT (did you mean NUAGE_SIP__PORT?)"
    assert done.stderr.strip() == expected


def test_serve_shows_the_tenancy_to_a_logged_in_operator_only_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert runner.invoke(app, ["demo", "--data-dir", str(data)]).exit_code == 0
    port = free_port()
    # no Janus to start and stop (tests/webrtc/test_demo_serve.py checks the one serve runs)
    env = {**os.environ, "NUAGE_DATA_DIR": str(data), "NUAGE_JANUS__EMBEDDED": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "nuage", "serve", "--http", f"127.0.0.1:{port}", "--sip", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answers: list[httpx.Response] = []

        def answered(probe: httpx.Client) -> bool:
            try:
                answers.append(probe.get(f"http://127.0.0.1:{port}/health"))
            except httpx.TransportError:
                return False
            return True

        # one client for every probe: ``httpx.get`` makes a client (and its TLS context) each time
        with httpx.Client(timeout=1) as probe:
            wait_until(lambda: answered(probe), timeout=60, interval=0.1, what="the server's health page")
        health = answers[-1]
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert health.json()["schema_current"] is True
        tenants = (
            "Nuage Telecom",
            "Brussels Voice Partners",
            "BruVoice",
            "Atelier Dupont",
            "Bakkerij Peeters",
            "Cabinet Lemaire",
        )
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, follow_redirects=True) as browser:
            front = browser.get("/")
            assert front.status_code == 200
            assert 'action="/login"' in front.text  # without a session: the login page, no tenant
            assert not any(name in front.text for name in tenants)
            csrf = re.search(r'name="csrf" value="([^"]+)"', front.text)
            assert csrf is not None
            form = {"csrf": csrf.group(1), "email": "olivia@nuage.example", "password": "Operator-Demo-2026"}
            asked = browser.post("/login", data=form)
            assert asked.url.path == "/login/code"  # the operator's second factor (`nuage demo` prints it)
            csrf = re.search(r'name="csrf" value="([^"]+)"', asked.text)
            assert csrf is not None
            code = code_at(DEMO_SECRETS["olivia@nuage.example"], datetime.now(UTC))
            page = browser.post("/login/code", data={"csrf": csrf.group(1), "code": code}).text
        for name in tenants:  # the operator's overview
            assert name in page
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
