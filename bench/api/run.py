"""API benchmark: wrk against ``nuage serve`` (SQLite and PostgreSQL) beside a bare Starlette hello-world.

    .venv/bin/python bench/api/run.py [--duration 10] [--connections 10] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Every server runs as one process (uvicorn, uvloop, httptools) on loopback, as ``nuage serve`` does;
wrk uses 10 connections: exactly the 10 reads one account may have in flight (API-2), so no request
is refused. The write is ``POST /api/v1/rooms`` with one connection (1 write in flight, API-2).
The p50/p99 at a fixed 200 requests/s come from ``rate.py`` (open loop) in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CLIENT = ("demo-dupont", "demo-dupont-secret-2026")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {url}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server did not start: {url}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def wrk(
    url: str, *, duration: int, connections: int, headers: dict[str, str], script: Path | None = None
) -> dict[str, object]:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> str:
        found = re.search(rf"\s{p}%\s+([\d.]+\w+)", out)
        return found.group(1) if found else "?"

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": round(rps),
        "p50": pct("50"),
        "p99": pct("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def rate(url: str, headers: dict[str, str], duration: int, per_second: float = 200) -> dict[str, object]:
    command = [
        sys.executable,
        str(HERE / "rate.py"),
        url,
        "--rate",
        str(per_second),
        "--duration",
        str(duration),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    return dict(json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout))


def bench_hello(args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            "--app-dir",
            str(HERE),
            "hello:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
        ],
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_up(url, process)
        wrk(url, duration=2, connections=args.connections, headers={})  # warm-up
        return {
            "read": wrk(url, duration=args.duration, connections=args.connections, headers={}),
            "rate200": rate(url, {}, args.duration),
        }
    finally:
        stop(process)


def bench_nuage(args: argparse.Namespace, database_url: str | None) -> dict[str, object]:
    data = Path(tempfile.mkdtemp(prefix="nuage-bench-"))
    env = {**os.environ, "NUAGE_DATA_DIR": str(data), "NUAGE_LOG_LEVEL": "WARNING"}
    if database_url:
        env["NUAGE_DATABASE_URL"] = database_url
    subprocess.run([str(BIN / "nuage"), "demo"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "nuage"), "serve", "--no-sip", "--http", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_up(f"http://127.0.0.1:{port}/health", process)
        form = {"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": CLIENT[1]}
        token = httpx.post(f"{base}/oauth/token", data=form).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        alice = httpx.get(f"{base}/users?email=alice@dupont.example", headers=auth).json()["items"][0]["id"]
        one_user = f"{base}/users/{alice}"
        wrk(one_user, duration=2, connections=args.connections, headers=auth)  # warm-up
        return {
            "read": wrk(one_user, duration=args.duration, connections=args.connections, headers=auth),
            "list": wrk(
                f"{base}/users?limit=20", duration=args.duration, connections=args.connections, headers=auth
            ),
            "write": wrk(
                f"{base}/rooms",
                duration=args.duration,
                connections=1,
                headers=auth,
                script=HERE / "post_room.lua",
            ),
            "rate200": rate(one_user, auth, args.duration),
        }
    finally:
        stop(process)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {"hello": bench_hello(args), "sqlite": bench_nuage(args, None)}
    if not args.skip_postgres:
        import psycopg

        name = f"nuage_bench_{secrets.token_hex(4)}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            results["postgresql"] = bench_nuage(args, f"{args.postgres.rsplit('/', 1)[0]}/{name}")
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
