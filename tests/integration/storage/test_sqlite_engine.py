"""The embedded database's settings: a new file gets 8 KB pages and WAL; an existing file keeps its pages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from nuage.storage.sql.engine import SQLITE_PAGE_SIZE, make_engine


def _settings(path: Path) -> tuple[int, str, int]:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            page_size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
    finally:
        engine.dispose()
    return int(page_size), str(journal), int(foreign_keys)


def test_a_new_database_has_8_kb_pages_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nuage.db"
    assert _settings(path) == (SQLITE_PAGE_SIZE, "wal", 1) == (8192, "wal", 1)
    assert _settings(path) == (8192, "wal", 1)  # opened again: unchanged


def test_an_existing_database_keeps_its_page_size_and_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("PRAGMA page_size=4096")
        old.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, name TEXT)")
        old.execute("INSERT INTO kept (name) VALUES ('before')")
    old.close()
    assert _settings(path) == (4096, "wal", 1)
    with sqlite3.connect(path) as again:
        assert again.execute("SELECT name FROM kept").fetchall() == [("before",)]
    again.close()
