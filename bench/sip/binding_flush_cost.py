"""CPU of the registrar's write-behind (issue #22): one flush of ``SqlBindingStore`` on SQLite.

A REGISTER's binding is queued in memory and written by a flush every 0.2 s, coalesced per
device and contact: one phone re-registering costs one binding per flush, many phones one binding
each. This times ``SqlBindingStore``'s write of a batch of ``--contacts`` bindings (in the
calling thread, as the worker thread runs it), ``--flushes`` times, on a SQLite file, and prints
the CPU (``time.thread_time``) per flush and per binding. Run it with another checkout's ``src``
first on ``PYTHONPATH`` to compare.

    .venv/bin/python bench/sip/binding_flush_cost.py [--contacts 1,20,200] [--flushes 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nuage.sip.ports import Binding
from nuage.storage.sql import tables
from nuage.storage.sql.engine import make_engine
from nuage.storage.sql.sip_records import SqlBindingStore


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", default="1,20,200", help="bindings per flush, comma-separated")
    parser.add_argument("--flushes", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bindings.db'}")
        tables.metadata.create_all(engine)
        store = SqlBindingStore(engine)
        now = datetime.now(UTC)
        for contacts in (int(n) for n in options.contacts.split(",")):
            flushes = max(1, options.flushes * 20 // max(contacts, 20))
            started = time.thread_time()
            for n in range(flushes):
                batch: dict[tuple[str, str], Binding | None] = {}
                for i in range(contacts):
                    binding = Binding(
                        device_id=f"dev-{i}",
                        username=f"user{i}",
                        contact=f"sip:user{i}@192.0.2.1:{5060 + i}",
                        expires_at=now + timedelta(seconds=300),
                        call_id=f"reg-{i}",
                        cseq=n + 1,
                        source_transport="UDP",
                        source_host="192.0.2.1",
                        source_port=5060 + i,
                        registered_at=now,
                        user_agent="Phone/1.0",
                    )
                    batch[(binding.device_id, binding.contact)] = binding
                store._write(batch)
            spent = (time.thread_time() - started) / flushes
            print(
                f"{contacts:5d} bindings per flush: {spent * 1e6:8.0f} us CPU per flush, "
                f"{spent * 1e6 / contacts:6.1f} us per binding ({flushes} flushes)",
                flush=True,
            )
        engine.dispose()


if __name__ == "__main__":
    main()
