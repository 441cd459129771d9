"""Ordinary mistakes end the installed ``nuage`` command with one or two lines saying what is wrong and
what to do, and a non-zero exit: never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netports import free_port
from nuage.cli import app
from nuage.payments.camt import BankEntry, write_camt053


def _nuage(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUAGE_DATA_DIR": str(data)}
    env.pop("NUAGE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "nuage", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _refused(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, done.stderr
    assert lines[0].startswith("error: ")
    for text in expected:
        assert text in done.stderr
    return done.stderr


@pytest.fixture
def demo_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    done = CliRunner().invoke(app, ["demo", "--data-dir", str(data)])
    assert done.exit_code == 0, done.output
    return data


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "'nonsense' is not a database URL; write sqlite:///PATH/nuage.db or postgresql://"),
        ("mysql://nuage@localhost/nuage", "mysql databases are not supported; use sqlite:///"),
        ("postgresql://nuage@localhost:port/nuage", "cannot read the database URL"),
    ],
)
def test_a_database_url_nuage_cannot_use_is_one_line(url: str, expected: str, tmp_path: Path) -> None:
    _refused(_nuage("billing", "invoices", "--database-url", url, data=tmp_path), expected)


def test_a_database_server_that_does_not_answer_says_what_to_do(tmp_path: Path) -> None:
    url = f"postgresql://nuage@127.0.0.1:{free_port()}/nuage"  # nothing listens there
    _refused(
        _nuage("db", "upgrade", "--database-url", url, data=tmp_path),
        f"the database at {url} cannot be reached",
        "Start it, or give another --database-url",
    )


def test_a_sqlite_file_in_a_missing_folder_is_refused_and_no_folder_is_made(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    done = _nuage("db", "upgrade", "--database-url", f"sqlite:///{missing}/x.db", data=tmp_path / "data")
    _refused(done, f"the folder {missing} of the SQLite file does not exist")
    assert not (tmp_path / "nonexistent").exists()


def test_a_latin1_csv_is_refused_naming_the_row(demo_data: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "cdrs.csv"
    csv_file.write_bytes(
        b"cdr_id,account_id,started_at,destination,billable_seconds\n"
        + "c1,Société,2026-01-10T09:00:00+01:00,+3222001122,61\n".encode("latin-1")
    )
    _refused(_nuage("billing", "import-cdrs", str(csv_file), data=demo_data), "row 2 is not UTF-8", "UTF-8")


def test_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        done = _nuage("serve", "--http", f"127.0.0.1:{port}", "--no-sip", data=tmp_path)
    _refused(done, f"cannot listen on 127.0.0.1:{port}", "--http HOST:PORT")


@pytest.mark.rule("PAY-1")
def test_camt_imports_refuse_absurd_amounts_and_huge_files_in_one_line(
    demo_data: Path, tmp_path: Path
) -> None:
    entry = BankEntry("S1", "E1", Decimal("10.00"), "EUR", True, date(2026, 3, 2), None, None, None)
    statement = write_camt053("S1", "BE68539007547034", (entry,))
    absurd = tmp_path / "absurd.xml"
    absurd.write_bytes(statement.replace(b">10.00<", b">1E+999999999<"))
    _refused(_nuage("payments", "import-camt", str(absurd), data=demo_data), "more than 999999999.99")
    huge = tmp_path / "huge.xml"
    huge.write_bytes(statement.replace(b"<Stmt>", b"<Stmt><!--" + b" " * (21 * 1024 * 1024) + b"-->"))
    _refused(_nuage("payments", "import-camt", str(huge), data=demo_data), "larger than 20971520 bytes")


def test_writing_into_a_missing_folder_is_one_line(demo_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "demo-cdrs.csv"
    _refused(_nuage("billing", "demo-cdrs", "--out", str(out), data=demo_data), f"cannot write {out}")
    assert not out.parent.exists()


def test_sip_on_a_busy_port_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", free_port()))
        port = busy.getsockname()[1]
        done = _nuage("sip", "--sip", f"127.0.0.1:{port}", data=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    what, to_do = done.stderr.strip().splitlines()[-2:]  # after the log lines of the start
    assert what == f"error: SIP could not listen on 127.0.0.1:{port}: Address already in use"
    assert "--sip HOST:PORT" in to_do
