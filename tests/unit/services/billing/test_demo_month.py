"""The demo month by the use cases (BIL-2, BIL-3, BIL-9, BIL-10, RAT, SIP-1, TEN-5): count, import, rate,
run, invoices to the cent; re-runs add nothing. On the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_flow import Demo, bill_demo_month
from nuage.services.billing.cdr_import import import_cdrs, imported_cdr_id
from nuage.services.billing.counting import freeze_month
from nuage.services.billing.demo import DEMO_MONTH
from nuage.services.billing.queries import get_invoice, list_invoices
from nuage.services.billing.rating import rate_pending
from nuage.shared.month import Month

D = Decimal


def lines_of(demo: Demo, number: str) -> list[tuple[str, str, str, Decimal, Decimal, Decimal]]:
    with demo.platform.uow() as uow:
        stored = get_invoice(uow, demo.ctx, number)
    return [
        (line.rule_id, line.item_kind, str(line.period), line.quantity, line.unit_price, line.amount)
        for line in stored.issued.draft.lines
    ]


@pytest.mark.rule("BIL-2")
@pytest.mark.rule("BIL-3")
@pytest.mark.rule("BIL-10")
@pytest.mark.rule("TEN-5")
def test_demo_month_bills_pro_rata_services_next_month_and_traffic_to_the_cent(demo: Demo) -> None:
    report = bill_demo_month(demo)
    numbers = {stored.issued.draft.invoiced_party_id: stored.issued.number for stored in report.invoices}
    dupont = demo.ids["Atelier Dupont"]
    # TEN-5: the direct customer is invoiced itself, each partner for its indirect customer.
    assert set(numbers) == {dupont, demo.ids["Brussels Voice Partners"], demo.ids["Meuse Connect"]}
    assert sorted(numbers.values()) == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    # Service starts 10 January: January pro rata 22/31 and February in advance (BIL-2),
    # January's traffic (BIL-3).
    assert lines_of(demo, numbers[dupont]) == [
        ("BIL-2", "billable_users", "2026-01", D(2), D("19.95"), D("28.32")),
        ("BIL-2", "national_numbers", "2026-01", D(2), D("2.00"), D("2.84")),
        ("BIL-2", "conference_rooms", "2026-01", D(1), D("5.00"), D("3.55")),
        ("BIL-2", "billable_users", "2026-02", D(2), D("19.95"), D("39.90")),
        ("BIL-2", "national_numbers", "2026-02", D(2), D("2.00"), D("4.00")),
        ("BIL-2", "conference_rooms", "2026-02", D(1), D("5.00"), D("5.00")),
        # 61 s @0.05 -> 0.06; 95 s @0.15 -> 0.24; 300 s @0.08 -> 0.40; 1 s @0.05 -> 0.01 (RAT-1); 112 free
        ("BIL-3", "traffic", "2026-01", D(1), D("0.71"), D("0.71")),
    ]
    # Partners pay wholesale prices (TEN-5) on the partner-wholesale rating run.
    assert lines_of(demo, numbers[demo.ids["Brussels Voice Partners"]]) == [
        ("BIL-2", "billable_users", "2026-01", D(2), D("15.00"), D("21.29")),
        ("BIL-2", "national_numbers", "2026-01", D(2), D("1.50"), D("2.13")),
        ("BIL-2", "billable_users", "2026-02", D(2), D("15.00"), D("30.00")),
        ("BIL-2", "national_numbers", "2026-02", D(2), D("1.50"), D("3.00")),
        # 600 s @0.03 -> 0.30; 61 s @0.10 -> 0.11 (0.1016..); 125 s @0.05 -> 0.11 (0.1041..)
        ("BIL-3", "traffic", "2026-01", D(1), D("0.52"), D("0.52")),
    ]
    totals = {
        stored.issued.number: (stored.issued.totals.net, stored.issued.totals.vat, stored.issued.totals.gross)
        for stored in report.invoices
    }
    assert totals[numbers[dupont]] == (D("84.32"), D("17.71"), D("102.03"))
    assert totals[numbers[demo.ids["Brussels Voice Partners"]]] == (D("56.94"), D("11.96"), D("68.90"))
    assert totals[numbers[demo.ids["Meuse Connect"]]] == (D("28.35"), D("5.95"), D("34.30"))
    # BIL-10: every line cites its sources: the frozen summary (with its hash) or the rated calls.
    with demo.platform.uow() as uow:
        stored = get_invoice(uow, demo.ctx, numbers[dupont])
        summary = uow.billing.summary(dupont, DEMO_MONTH)
    assert summary is not None
    first, traffic = stored.issued.draft.lines[0], stored.issued.draft.lines[-1]
    assert first.sources[0].kind == "monthly-summary"
    assert first.sources[0].key == f"{dupont}:{DEMO_MONTH}:{summary.hash}:billable_users"
    assert [source.kind for source in traffic.sources] == ["rated-call"] * 4  # the 112 call is not itemised
    assert dict(traffic.description_params) == {"calls": "4", "seconds": "457", "period": "2026-01"}


@pytest.mark.rule("RAT-1")
@pytest.mark.rule("BIL-9")
def test_importing_rating_and_running_twice_stores_and_bills_once(demo: Demo) -> None:
    bill_demo_month(demo)
    with demo.platform.uow() as uow:
        from nuage.services.billing.demo import demo_cdr_csv

        again = import_cdrs(uow, demo.ctx, demo_cdr_csv(uow).splitlines())
    assert (again.imported, again.already_imported, again.errors) == (0, 10, [])
    rerated = rate_pending(demo.platform.uow, demo.ctx)
    assert (rerated.cdrs_seen, rerated.stored) == (0, {})
    rerun = demo.run(DEMO_MONTH)
    assert (rerun.invoices, rerun.already_billed) == ([], 3)
    with demo.platform.uow() as uow:
        page = list_invoices(uow, demo.ctx, period=DEMO_MONTH)
        assert uow.billing.locked_last_number("INV", 2026) == "INV-2026-000003"
    assert page.total == 3


@pytest.mark.rule("BIL-3")
@pytest.mark.rule("BIL-2")
def test_next_month_bills_the_following_period_and_only_new_calls(demo: Demo) -> None:
    bill_demo_month(demo)
    demo.clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    february = Month(2026, 2)
    with demo.platform.uow() as uow:
        frozen = freeze_month(uow, demo.ctx, february)
    assert len(frozen.frozen) == 3
    report = demo.run(february, run_on=date(2026, 2, 28))
    party = demo.ids["Atelier Dupont"]
    dupont = next(s for s in report.invoices if s.issued.draft.invoiced_party_id == party)
    lines = [(ln.rule_id, ln.item_kind, str(ln.period), ln.amount) for ln in dupont.issued.draft.lines]
    assert lines == [
        ("BIL-2", "billable_users", "2026-03", D("39.90")),
        ("BIL-2", "national_numbers", "2026-03", D("4.00")),
        ("BIL-2", "conference_rooms", "2026-03", D("5.00")),
    ]  # no traffic line: January's calls are invoiced already


@pytest.mark.rule("SIP-1")
def test_import_reports_bad_rows_and_keeps_good_ones(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    text = "\n".join(
        [
            "cdr_id,account_id,started_at,destination,billable_seconds",
            f"ok-1,{dupont},2026-01-20T10:00:00+01:00,+3222001122,60",
            f"bad-time,{dupont},2026-01-20T10:00:00,+3222001122,60",
            "bad-account,cus_nobody,2026-01-20T10:00:00+01:00,+3222001122,60",
            f"bad-seconds,{dupont},2026-01-20T10:00:00+01:00,+3222001122,-3",
            f"ok-2,{dupont},2026-01-21T10:00:00+01:00,+33142000000,30",
        ]
    )
    with demo.platform.uow() as uow:
        report = import_cdrs(uow, demo.ctx, text.splitlines(), batch_rows=2)
    assert report.imported == 2
    assert sorted((error.row, error.field) for error in report.errors) == [
        (3, "started_at"),
        (4, "account_id"),  # its own row, across batches
        (5, "billable_seconds"),
    ]
    rated = rate_pending(demo.platform.uow, demo.ctx, batch_size=1)
    assert (rated.batches, rated.stored) == (2, {"customer-retail": 2})
    with demo.platform.uow() as uow:
        calls = uow.billing.uninvoiced_calls({dupont: "customer-retail"}, datetime(2026, 2, 1, tzinfo=UTC))
    assert [(call.destination, call.amount) for call in calls[dupont]] == [
        ("+3222001122", D("0.05")),
        ("+33142000000", D("0.04")),
    ]


@pytest.mark.rule("EMG-4")
@pytest.mark.rule("RAT-3")
def test_a_cdr_to_a_short_number_the_operator_listed_is_an_emergency_call(demo: Demo) -> None:
    from nuage.services import emergency

    dupont = demo.ids["Atelier Dupont"]
    text = [
        "cdr_id,account_id,started_at,destination,billable_seconds",
        f"doctor-1,{dupont},2026-01-20T10:00:00+01:00,1733,60",
    ]
    with demo.platform.uow() as uow:
        refused = import_cdrs(uow, demo.ctx, text)
    assert (refused.imported, [error.field for error in refused.errors]) == (0, ["destination"])
    with demo.platform.uow() as uow:
        emergency.add_emergency_number(uow, demo.ctx, "1733", "Doctor on duty")
        uow.commit()
    with demo.platform.uow() as uow:
        report = import_cdrs(uow, demo.ctx, text)
        uow.commit()
    assert (report.imported, report.errors) == (1, [])
    rated = rate_pending(demo.platform.uow, demo.ctx)
    assert rated.stored == {"customer-retail": 1}
    with demo.platform.uow() as uow:
        calls = uow.billing.rated_calls([imported_cdr_id("doctor-1")])
    assert [(call.destination, call.emergency, call.amount, call.itemised) for call in calls] == [
        ("1733", True, D(0), False)
    ]  # RAT-3: free, and not itemised
