"""Lists that don't grow with the tenant: p50/p99 of ``GET /users?limit=20`` at 10,000 and 100,000 users.

    .venv/bin/python bench/api/lists.py [--sizes 10000,100000] [--rate 20] [--duration 10] [--postgres URL]

For each size, one account of the demo gets that many users (inserted directly, as an import
would; on PostgreSQL the table is then analysed, as autovacuum does shortly after such a change:
until then the planner believes the account has a few users and sorts all of them). Then
``nuage serve --no-sip`` answers, each measure at a fixed rate by ``rate.py`` (open loop, its own
process), in this order within the same server: the single read (``GET /users/{id}``, the
reference), the first page of 20, a page in the middle of the account (its cursor: the user
halfway in the order), and the first page with ``total=true`` (the count it costs). The load
average before and after each size is printed: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from run import BIN, CLIENT, free_port, rate, stop, wait_up
from sqlalchemy import func, insert, select

from nuage.api import paging
from nuage.storage.sql import tables
from nuage.storage.sql.engine import make_engine

ACCOUNT = "Atelier Dupont"


def grow(database_url: str, users: int) -> tuple[str, str]:
    """Give the demo account ``users`` users in all; the (name, id) of the one halfway in the order."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            account = connection.execute(
                select(tables.parties.c.id).where(tables.parties.c.name == ACCOUNT)
            ).scalar_one()
            have = connection.execute(
                select(func.count()).select_from(tables.users).where(tables.users.c.account_id == account)
            ).scalar_one()
            start = datetime(2026, 1, 1, tzinfo=UTC)
            rows = [
                {
                    "id": f"usr_bench{n:07d}",
                    "account_id": account,
                    "name": f"User {secrets.token_hex(4)}",
                    "created_at": start + timedelta(seconds=n),
                    "role": "user",
                    "no_service": False,
                    "email": f"bench{n}@dupont.example",
                    "language": "fr",
                }
                for n in range(have, users)
            ]
            for chunk in range(0, len(rows), 5000):
                connection.execute(insert(tables.users), rows[chunk : chunk + 5000])
            if connection.dialect.name == "postgresql":  # as autovacuum would within its naptime:
                connection.exec_driver_sql("ANALYZE users")  # stale statistics choose a sort
            middle = connection.execute(
                select(tables.users.c.name, tables.users.c.id)
                .where(tables.users.c.account_id == account)
                .order_by(tables.users.c.name, tables.users.c.id)
                .offset(users // 2)
                .limit(1)
            ).one()
        return str(middle.name), str(middle.id)
    finally:
        engine.dispose()


def measure(database_url: str, data: Path, users: int, args: argparse.Namespace) -> dict[str, object]:
    env = {
        **os.environ,
        "NUAGE_DATA_DIR": str(data),
        "NUAGE_LOG_LEVEL": "WARNING",
        "NUAGE_DATABASE_URL": database_url,
    }
    middle = grow(database_url, users)
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "nuage"), "serve", "--no-sip", "--http", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    load_before = os.getloadavg()
    try:
        wait_up(f"http://127.0.0.1:{port}/health", process)
        form = {"grant_type": "client_credentials", "client_id": CLIENT[0], "client_secret": CLIENT[1]}
        token = httpx.post(f"{base}/oauth/token", data=form).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        first = httpx.get(f"{base}/users?limit=20&total=true", headers=auth).json()
        assert first["total"] == users, first["total"]
        cursor = paging.encode("name.asc", list(middle))
        urls = {
            "read": f"{base}/users/{first['items'][0]['id']}",
            "list": f"{base}/users?limit=20",
            "list_middle": f"{base}/users?limit=20&cursor={cursor}",
            "list_total": f"{base}/users?limit=20&total=true",
        }
        for url in urls.values():  # warm-up, and every page answers
            assert httpx.get(url, headers=auth).status_code == 200, url
        results: dict[str, object] = {"users": users}
        for name, url in urls.items():
            results[name] = rate(url, auth, args.duration, args.rate)
        results["load_average"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
        return results
    finally:
        stop(process)


def run(database_url: str | None, args: argparse.Namespace) -> list[dict[str, object]]:
    data = Path(tempfile.mkdtemp(prefix="nuage-bench-"))
    url = database_url or f"sqlite:///{data / 'nuage.db'}"
    env = {**os.environ, "NUAGE_DATA_DIR": str(data), "NUAGE_DATABASE_URL": url}
    try:
        subprocess.run([str(BIN / "nuage"), "demo"], env=env, check=True, capture_output=True)
        return [measure(url, data, size, args) for size in args.sizes]
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=lambda text: [int(x) for x in text.split(",")], default=[10_000, 100_000]
    )
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument(
        "--postgres", help="also on PostgreSQL (an admin URL; a database is made and dropped)"
    )
    args = parser.parse_args()
    results: dict[str, object] = {"sqlite": run(None, args)}
    if args.postgres:
        import psycopg

        name = f"nuage_bench_{secrets.token_hex(4)}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            results["postgresql"] = run(f"{args.postgres.rsplit('/', 1)[0]}/{name}", args)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
