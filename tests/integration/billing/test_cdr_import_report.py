"""SIP-1: what a CDR import reports: an unknown account on its own row, a CDR changed since it was
imported (reported, never applied), bounds refused row by row, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from billing_flow import Demo
from nuage.services.billing.cdr_import import ImportReport, import_cdrs
from nuage.storage.sql import tables as t

HEADER = "cdr_id,account_id,started_at,destination,billable_seconds"


def _import(demo: Demo, *rows: str, batch_rows: int = 5000) -> ImportReport:
    with demo.platform.uow() as uow:
        return import_cdrs(uow, demo.ctx, [HEADER, *rows], batch_rows=batch_rows)


@pytest.mark.rule("SIP-1")
def test_an_unknown_account_is_reported_on_its_row(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    report = _import(
        demo,
        f"c1,{dupont},2026-01-10T09:00:00+01:00,+3222001122,61",
        f"c2,{dupont},2026-01-10T09:01:00+01:00,+3222001122,61",
        "c3,cus_nobody,2026-01-10T09:02:00+01:00,+3222001122,61",
        f"c4,{dupont},2026-01-10T09:03:00+01:00,+3222001122,61",
        "c5,cus_nobody,2026-01-10T09:04:00+01:00,+3222001122,61",
        batch_rows=2,  # rows keep their numbers across batches
    )
    assert [(error.row, error.field) for error in report.errors] == [(4, "account_id"), (6, "account_id")]
    assert "no customer 'cus_nobody'" in report.errors[0].message
    assert report.imported == 3


@pytest.mark.rule("SIP-1")
def test_a_cdr_changed_since_it_was_imported_is_reported_not_applied(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    first = _import(
        demo,
        f"c1,{dupont},2026-01-10T09:00:00+01:00,+3222001122,61",
        f"c2,{dupont},2026-01-10T09:01:00+01:00,+3222001122,30",
    )
    assert (first.imported, first.errors) == (2, [])
    again = _import(
        demo,
        f"c1,{dupont},2026-01-10T08:00:00Z,+3222001122,61",  # the same instant, written in UTC
        f"c2,{dupont},2026-01-10T09:01:00+01:00,+3222001122,3000",
        f"c3,{dupont},2026-01-10T09:02:00+01:00,+3222001122,5",
    )
    assert (again.imported, again.already_imported, again.changed) == (1, 1, 1)
    assert [(error.row, error.field) for error in again.errors] == [(3, "cdr_id")]
    assert "billable_seconds 30 -> 3000" in again.errors[0].message
    assert "not applied" in again.errors[0].message
    with demo.platform.engine.connect() as connection:
        stored = connection.execute(
            select(t.cdrs.c.billable_seconds).where(t.cdrs.c.call_id == "c2")
        ).scalar_one()
    assert stored == 30


@pytest.mark.rule("SIP-1")
def test_absurd_rows_are_refused_and_the_good_ones_kept(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    report = _import(
        demo,
        f"c1,{dupont},2026-01-10T09:00:00+01:00,+3222001122,1000000000000",
        f"c2,{dupont},1970-01-01T00:00:00+00:00,+3222001122,61",
        f"=cmd|' /C calc'!A0,{dupont},2026-01-10T09:00:00+01:00,+3222001122,61",
        f"c4,{dupont},2026-03-01T09:00:00+01:00,+3222001122,61",  # the clock is at 3 February
        f"c5,{dupont},2026-01-10T09:00:00+01:00,+3222001122,61",
    )
    assert [(error.row, error.field) for error in report.errors] == [
        (2, "billable_seconds"),
        (3, "started_at"),
        (4, "cdr_id"),
        (5, "started_at"),
    ]
    assert report.imported == 1
