"""API-2 on a real server: ``nuage serve`` in subprocesses, real concurrent HTTP requests on loopback.

Reads and writes are made slow with the test-only settings ``api.test_read_delay_ms`` and
``api.test_write_delay_ms`` (environment ``NUAGE_API__TEST_READ_DELAY_MS``...), so that requests
truly overlap. With ``redis``, two web nodes share the counters (``api.limits_backend=redis``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.support import PASSWORDS, SECRETS
from api.test_limits import _redis_available
from netports import bind_race_lost, free_port


def _start(data_dir: Path, env: dict[str, str], *, sip: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """``nuage serve`` on a free port; with ``sip``, the SIP plane too (on an OS-chosen port).

    Started once more on a fresh port if another process took the first one before it bound it.
    """
    try:
        return _start_on(free_port(), data_dir, env, sip=sip)
    except _PortTaken:
        return _start_on(free_port(), data_dir, env, sip=sip)


class _PortTaken(RuntimeError):
    """The HTTP port was bound by someone else between the probe and ``nuage serve``'s bind."""


def _start_on(
    port: int, data_dir: Path, env: dict[str, str], *, sip: bool
) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "nuage"),
            "serve",
            *(["--sip", "127.0.0.1:0"] if sip else ["--no-sip"]),
            "--http",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            if bind_race_lost(error):
                raise _PortTaken(error)
            raise RuntimeError(f"nuage serve exited: {error}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("nuage serve did not start")


@pytest.fixture(params=["memory", "redis"])
def nodes(request: pytest.FixtureRequest, tmp_path: Path, demo_template: Path) -> Iterator[list[str]]:
    """One web node counting in memory, or two web nodes sharing Redis; both on the demo database."""
    if request.param == "redis" and not _redis_available():
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(demo_template, data / "nuage.db")
    env = {
        **os.environ,
        "NUAGE_SECRET_KEY": "test-signing-key-0123456789",
        "NUAGE_API__TEST_READ_DELAY_MS": "700",
        "NUAGE_API__TEST_WRITE_DELAY_MS": "700",
        "NUAGE_API__LIMITS_BACKEND": request.param,
        "NUAGE_API__REDIS_KEY_PREFIX": f"nuage-test:{secrets.token_hex(6)}:",
    }
    count = 2 if request.param == "redis" else 1
    started = [_start(data, env) for _ in range(count)]
    try:
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr:
                process.stderr.close()


async def _token(http: httpx.AsyncClient, base: str, who: str) -> dict[str, str]:
    if who in SECRETS:
        form = {"grant_type": "client_credentials", "client_id": who, "client_secret": SECRETS[who]}
    else:
        form = {"grant_type": "password", "username": who, "password": PASSWORDS[who]}
    answer = await http.post(f"{base}/api/v1/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.mark.slow
@pytest.mark.rule("API-2")
async def test_real_server_refuses_the_eleventh_read_and_the_second_write_of_one_account(
    nodes: list[str],
) -> None:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=20, limits=limits) as http:
        dupont = await _token(http, nodes[0], "demo-dupont")
        alice = await _token(http, nodes[-1], "alice@dupont.example")  # another client of the same account
        lemaire = await _token(http, nodes[0], "demo-lemaire")

        def node(i: int) -> str:
            return nodes[i % len(nodes)]

        reads = [http.get(f"{node(i)}/api/v1/users", headers=dupont if i % 2 else alice) for i in range(11)]
        other = [http.get(f"{node(i)}/api/v1/users", headers=lemaire) for i in range(3)]
        answers = await asyncio.gather(*reads, *other)
        mine, theirs = answers[:11], answers[11:]
        assert sorted(a.status_code for a in mine) == [200] * 10 + [429]
        refused = next(a for a in mine if a.status_code == 429)
        assert refused.json()["details"]["rule_id"] == "API-2"
        assert refused.headers["retry-after"] == "1"
        assert [a.status_code for a in theirs] == [200, 200, 200]  # another account is unaffected

        writes = [
            http.post(f"{node(i)}/api/v1/rooms", headers=h, json={"name": f"Room {i}", "use": "users"})
            for i, h in enumerate((dupont, alice))
        ]
        other_write = http.post(
            f"{nodes[0]}/api/v1/rooms", headers=lemaire, json={"name": "L", "use": "users"}
        )
        w1, w2, w3 = await asyncio.gather(*writes, other_write)
        assert sorted((w1.status_code, w2.status_code)) == [201, 429]
        assert (
            next(w for w in (w1, w2) if w.status_code == 429).json()["error_id"] == "api-write-limit-reached"
        )
        assert w3.status_code == 201
