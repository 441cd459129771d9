"""BIL-4: the e-invoice validation workers of ``nuage billing run`` die with the run (``kill -9``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from nuage.bootstrap import build_platform
from nuage.config import Settings
from nuage.services.billing.defaults import load_billing_defaults
from nuage.shared.clock import FrozenClock
from nuage.shared.month import Month
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql import tables as t
from nuage.terms.counting import ItemKind, freeze_monthly_summary
from waiting import wait_until

NOW = datetime(2026, 2, 3, 8, tzinfo=UTC)
MONTH = Month(2026, 1)


def _customers(data_dir: Path, count: int) -> None:
    """``count`` direct customers in service, with contracts and January counts, written in bulk."""
    platform = build_platform(Settings(data_dir=data_dir), migrate=True, clock=FrozenClock(NOW))
    try:
        with platform.uow() as uow:
            load_billing_defaults(uow, platform.clock)
            uow.commit()
        ids = [f"cus_{i:05d}" for i in range(count)]
        common: dict[str, Any] = {
            "created_at": NOW, "status": "active", "language": "fr", "capacity_reading": "literal",
            "vat_number": "BE0123456749", "country": "BE", "email": "billing@example.com",
            "street": "Rue Haute 1", "postal_code": "1000", "city": "Bruxelles",
        }  # fmt: skip
        parties = [{"id": "opr_test", "kind": "operator", "name": "Operator", **common}]
        parties += [{"id": i, "kind": "customer", "name": f"Customer {i}", **common} for i in ids]
        with platform.engine.begin() as connection:
            connection.execute(insert(t.parties), parties)
            connection.execute(
                insert(t.orders),
                [
                    {
                        "id": f"ord_{i}", "customer_id": i, "placed_by_party_id": "opr_test",
                        "terms_version": "2026-01", "language": "fr", "accepted_at": NOW,
                        "accepted_by": "test",
                        "service_start_on": date(2025, 12, 1), "minimum_term_months": 24, "description": "",
                        "lines": [],
                    }
                    for i in ids
                ],
            )  # fmt: skip
            connection.execute(
                insert(bt.contracts),
                [
                    {
                        "id": f"ctr_{i}", "customer_id": i, "contracting_party_id": i, "order_id": f"ord_{i}",
                        "start_on": date(2025, 12, 1), "minimum_term_months": 24,
                        "recurring_billed_through": "2026-01", "created_at": NOW,
                    }
                    for i in ids
                ],
            )  # fmt: skip
            summaries = []
            for i in ids:
                counts = {ItemKind.BILLABLE_USERS: Decimal(3), ItemKind.NATIONAL_NUMBERS: Decimal(2)}
                summary = freeze_monthly_summary(i, MONTH, counts, NOW, None)
                summaries.append(
                    {
                        "account_id": i, "month": str(MONTH),
                        "items": {k.value: str(q) for k, q in summary.items},
                        "frozen_at": NOW, "previous_hash": summary.previous_hash, "hash": summary.hash,
                    }
                )  # fmt: skip
            connection.execute(insert(bt.monthly_summaries), summaries)
    finally:
        platform.close()


def _children(pid: int) -> set[int]:
    """The validation workers (spawned interpreters) whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if ppid == str(pid) and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """A process that runs (a zombie waiting for its reaper has ended)."""
    try:
        state = next(
            line.split()[1]
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("State:")
        )
    except (OSError, StopIteration):
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.rule("BIL-4")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_run_during_validation_ends_its_workers(tmp_path: Path) -> None:
    _customers(tmp_path, 400)
    env = {**os.environ, "NUAGE_DATA_DIR": str(tmp_path), "NUAGE_EINVOICE_WORKERS": "2"}
    run = subprocess.Popen(
        [sys.executable, "-m", "nuage", "billing", "run", "--period", "2026-01", "--run-on", "2026-01-28"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    try:

        def validating() -> bool:
            workers.update(_children(run.pid))
            return len(workers) == 2 or run.poll() is not None

        wait_until(validating, timeout=90, what="the run's two validation workers")
        assert run.poll() is None, "the run ended before it could be killed during validation"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        wait_until(lambda: not any(_alive(pid) for pid in workers), timeout=30, what="the workers to end")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
