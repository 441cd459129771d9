"""API-2 on a real server: web nodes in subprocesses, real concurrent HTTP requests on loopback.

Each node is ``nuage serve --no-sip``'s web application with a limiter that holds granted requests
while a file exists (``api.held_server``), so that requests truly overlap until the test lets them
go. With ``redis``, two web nodes share the counters (``api.limits_backend=redis``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.support import PASSWORDS, SECRETS
from api.test_limits import _redis_available
from netports import bind_race_lost, free_port
from waiting import wait_for_condition, wait_until

TESTS = Path(__file__).resolve().parents[1]


def _start(
    data_dir: Path, env: dict[str, str], *, sip: bool = False, held: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    """``nuage serve`` on a free port (with ``sip``, the SIP plane too, on an OS-chosen port), or with
    ``held`` a web node whose granted requests wait while ``data_dir/hold`` exists.

    Started once more on a fresh port if another process took the first one before it bound it.
    """
    try:
        return _start_on(free_port(), data_dir, env, sip=sip, held=held)
    except _PortTaken:
        return _start_on(free_port(), data_dir, env, sip=sip, held=held)


class _PortTaken(RuntimeError):
    """The HTTP port was bound by someone else between the probe and the node's bind."""


def _start_on(
    port: int, data_dir: Path, env: dict[str, str], *, sip: bool, held: bool
) -> tuple[subprocess.Popen[bytes], str]:
    where = ["--http", f"127.0.0.1:{port}", "--data-dir", str(data_dir)]
    if held:
        command = [sys.executable, "-m", "api.held_server", *where]
        env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))}
    else:
        plane = ["--sip", "127.0.0.1:0"] if sip else ["--no-sip"]
        command = [str(Path(sys.executable).parent / "nuage"), "serve", *plane, *where]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    # one client for every probe: ``httpx.get`` makes a client (and its TLS context) each time,
    # CPU the starting node needs
    probe = httpx.Client(timeout=1)

    def up() -> bool:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            if bind_race_lost(error):
                raise _PortTaken(error)
            raise RuntimeError(f"the web node exited: {error}")
        try:
            return probe.get(f"{base}/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, timeout=180, interval=0.1, what="the web node's health page")
    except AssertionError:
        process.kill()
        raise
    finally:
        probe.close()
    return process, base


@dataclass
class Nodes:
    """The web nodes' addresses, and the file that holds their granted requests while it exists."""

    bases: list[str]
    hold: Path


@pytest.fixture(params=["memory", "redis"])
def nodes(request: pytest.FixtureRequest, tmp_path: Path, demo_template: Path) -> Iterator[Nodes]:
    """One web node counting in memory, or two web nodes sharing Redis; both on the demo database."""
    if request.param == "redis" and not _redis_available():
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(demo_template, data / "nuage.db")
    env = {
        **os.environ,
        "NUAGE_SECRET_KEY": "test-signing-key-0123456789",
        "NUAGE_API__LIMITS_BACKEND": request.param,
        "NUAGE_API__REDIS_KEY_PREFIX": f"nuage-test:{secrets.token_hex(6)}:",
    }
    count = 2 if request.param == "redis" else 1
    started = [_start(data, env, held=True) for _ in range(count)]
    try:
        yield Nodes([base for _, base in started], data / "hold")
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


async def _overlapping(hold: Path, mine: list[asyncio.Task[httpx.Response]], refused: int) -> None:
    """Wait until ``refused`` of ``mine`` are answered (refused: the others hold their slots), then let
    every held request go."""
    try:
        await wait_for_condition(
            lambda: sum(task.done() for task in mine) >= refused, timeout=60, what="the refusals"
        )
    finally:
        hold.unlink()


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
    nodes: Nodes,
) -> None:
    bases = nodes.bases
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        dupont = await _token(http, bases[0], "demo-dupont")
        alice = await _token(http, bases[-1], "alice@dupont.example")  # another client of the same account
        lemaire = await _token(http, bases[0], "demo-lemaire")

        def node(i: int) -> str:
            return bases[i % len(bases)]

        def get(i: int, headers: dict[str, str]) -> asyncio.Task[httpx.Response]:
            return asyncio.create_task(http.get(f"{node(i)}/api/v1/users", headers=headers))

        nodes.hold.touch()
        mine = [get(i, dupont if i % 2 else alice) for i in range(11)]
        theirs = [get(i, lemaire) for i in range(3)]
        await _overlapping(nodes.hold, mine, 1)
        answers = await asyncio.gather(*mine)
        assert sorted(a.status_code for a in answers) == [200] * 10 + [429]
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["details"]["rule_id"] == "API-2"
        assert refused.headers["retry-after"] == "1"
        assert [a.status_code for a in await asyncio.gather(*theirs)] == [200, 200, 200]  # unaffected

        def post(base: str, headers: dict[str, str], name: str) -> asyncio.Task[httpx.Response]:
            return asyncio.create_task(
                http.post(f"{base}/api/v1/rooms", headers=headers, json={"name": name, "use": "users"})
            )

        nodes.hold.touch()
        writes = [post(node(i), h, f"Room {i}") for i, h in enumerate((dupont, alice))]
        other_write = post(bases[0], lemaire, "L")
        await _overlapping(nodes.hold, writes, 1)
        w1, w2 = await asyncio.gather(*writes)
        assert sorted((w1.status_code, w2.status_code)) == [201, 429]
        assert (
            next(w for w in (w1, w2) if w.status_code == 429).json()["error_id"] == "api-write-limit-reached"
        )
        assert (await other_write).status_code == 201
