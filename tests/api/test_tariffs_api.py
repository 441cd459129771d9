"""Tariffs and price plans over the API (RAT-2, BIL-2, CAP-1, PAY-2): versions published and scheduled,
a CSV imported whole or not at all, calls rated by the version in force at their start, issued
invoices untouched; plans published, assigned, and their CAP-1 reading read by the capacity view."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.bootstrap import SipRuntime
from nuage.tenancy.model import PartyKind

from .support import Api
from .test_billing_api import _bill_the_demo_month

OPERATOR, PARTNER, DUPONT = "demo-operator", "demo-bruvoice", "demo-dupont"
RETAIL = "/tariffs/customer-retail"
NEW_CSV = "prefix,description,per_minute,minimum,connection_fee\n" + "".join(
    f"{digit},Zone {digit},0.600000,0.20,0.05\n" for digit in range(1, 10)
)


@pytest.fixture
async def billed(api: Api) -> Api:
    """January rated and invoiced; the clock on 3 February."""
    api.platform.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    await _bill_the_demo_month(api)
    return api


async def _invoice_bytes(api: Api, number: str) -> tuple[bytes, bytes]:
    shown = await api.get(OPERATOR, f"/invoices/{number}")
    pdf = await api.get(OPERATOR, f"/invoices/{number}/pdf")
    assert shown.status_code == 200, shown.text
    assert pdf.status_code == 200, pdf.text
    return shown.content, pdf.content


async def _prices_of(api: Api, account_id: str, cdr_ids: set[str]) -> dict[str, tuple[str, str]]:
    page = await api.get(OPERATOR, "/call-records", params={"account_id": account_id, "limit": 500})
    assert page.status_code == 200, page.text
    return {
        item["call_id"]: (price["tariff_version"], price["amount"])
        for item in page.json()["items"]
        if item["call_id"] in cdr_ids
        for price in item["prices"]
        if price["run"] == "customer-retail"
    }


@pytest.mark.rule("RAT-2")
async def test_a_scheduled_version_rates_later_calls_and_leaves_invoices_alone(billed: Api) -> None:
    api = billed
    before = await api.get(OPERATOR, RETAIL)
    assert before.status_code == 200, before.text
    (current,) = [v for v in before.json()["versions"] if v["valid_to"] is None]
    issued = await _invoice_bytes(api, "INV-2026-000001")
    scheduled = await api.post(
        OPERATOR,
        f"{RETAIL}/import",
        json={"version": "2026-02", "effective_from": "2026-02-10T00:00:00+01:00", "csv": NEW_CSV},
    )
    assert scheduled.status_code == 201, scheduled.text
    rates = scheduled.json()["rates"]
    assert rates[1] == {
        "prefix": "2",
        "description": "Zone 2",
        "per_minute": "0.600000",
        "minimum": "0.20",
        "connection_fee": "0.05",
    }
    versions = {v["version"]: v for v in (await api.get(OPERATOR, RETAIL)).json()["versions"]}
    assert versions[current["version"]]["valid_to"] == "2026-02-09T23:00:00Z"  # closed automatically
    assert versions["2026-02"]["valid_to"] is None
    assert await _invoice_bytes(api, "INV-2026-000001") == issued  # publishing never changes an invoice
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    api.platform.clock.set(datetime(2026, 2, 11, 8, tzinfo=UTC))  # type: ignore[attr-defined]  # calls made
    cdrs = (
        "cdr_id,account_id,started_at,destination,billable_seconds\n"
        f"feb-before,{dupont},2026-02-09T23:59:00+01:00,+3222001122,60\n"
        f"feb-after,{dupont},2026-02-10T00:00:00+01:00,+3222001122,60\n"
        f"feb-short,{dupont},2026-02-10T09:00:00+01:00,+3222001122,6\n"
    )
    imported = await api.post(
        OPERATOR, "/billing/cdr-imports", content=cdrs.encode(), headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 3, imported.text
    assert (await api.post(OPERATOR, "/billing/ratings")).status_code == 200
    prices = await _prices_of(api, dupont, {"feb-before", "feb-after", "feb-short"})
    assert prices["feb-before"][0] == current["version"]  # the version in force at the call's start
    assert prices["feb-after"] == ("2026-02", "0.65")  # 0.60 for the minute + 0.05 connection fee
    assert prices["feb-short"] == ("2026-02", "0.20")  # 0.06 + 0.05 is below the minimum
    assert await _invoice_bytes(api, "INV-2026-000001") == issued


@pytest.mark.rule("RAT-2")
async def test_a_csv_with_a_bad_row_is_refused_whole_with_a_report(billed: Api) -> None:
    api = billed
    before = (await api.get(OPERATOR, RETAIL)).json()
    bad = (
        "prefix,description,per_minute,minimum,connection_fee\n"
        "32,Belgium,0.02,0,0\n"
        "+33,France,0.03,0,0\n"
        "34,Spain,0.0000001,0,0\n"
        "32,Belgium again,0.02,x,0\n"
    )
    refused = await api.post(OPERATOR, f"{RETAIL}/import", json={"version": "bad", "csv": bad})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error_id"] == "tariff-csv-invalid"
    assert body["details"]["rule_id"] == "RAT-2"
    assert [(r["row"], r["field"]) for r in body["details"]["rows"]] == [
        (3, "prefix"),
        (4, "per_minute"),
        (5, "prefix"),
        (5, "minimum"),
    ]
    assert (await api.get(OPERATOR, RETAIL)).json() == before  # nothing applied
    past = await api.post(
        OPERATOR,
        f"{RETAIL}/import",
        json={"version": "past", "effective_from": "2026-01-01T00:00:00+01:00", "csv": NEW_CSV},
    )
    assert past.status_code == 422
    assert past.json()["details"]["rule_id"] == "RAT-2"
    naive = await api.post(
        OPERATOR, RETAIL, json={"version": "x", "effective_from": "2026-03-01T00:00:00", "rates": []}
    )
    assert naive.status_code == 422
    partner = await api.post(PARTNER, f"{RETAIL}/import", json={"version": "p", "csv": NEW_CSV})
    assert partner.status_code == 403
    assert (await api.get(DUPONT, RETAIL)).status_code == 403
    now = await api.post(
        OPERATOR, RETAIL, json={"version": "now", "rates": [{"prefix": "32", "per_minute": "0.03"}]}
    )
    assert now.status_code == 201, now.text
    assert now.json()["valid_from"] == "2026-02-03T08:00:00Z"
    again = await api.post(
        OPERATOR, RETAIL, json={"version": "now", "rates": [{"prefix": "32", "per_minute": "0.03"}]}
    )
    assert again.status_code == 409


@pytest.mark.rule("BIL-2")
@pytest.mark.rule("CAP-1")
async def test_a_plan_is_published_assigned_and_its_capacity_reading_applies(billed: Api) -> None:
    api = billed
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    added = await api.post(OPERATOR, "/users", json={"account_id": dupont, "name": "Third Person"})
    assert added.status_code == 201, added.text
    literal = (await api.get(OPERATOR, f"/customers/{dupont}/capacity")).json()
    assert (literal["reading"], literal["billable_users"], literal["channels"]) == ("literal", 3, 3)
    premium = {
        "version": "premium-1",
        "audience": "customer-retail",
        "valid_from": "2026-02-03",
        "recurring": {
            "billable_users": {"unit_price": "19.50"},
            "national_numbers": {"unit_price": "2.00"},
            "conference_rooms": {"unit_price": "5.00"},
        },
        "one_time": {"activation": "50.00"},
        "capacity_reading": "graduated",
        "interest_reading": "per-day",
    }
    published = await api.post(OPERATOR, "/plans/premium/price-lists", json=premium)
    assert published.status_code == 201, published.text
    assert published.json()["interest_reading"] == "per-day"
    assert (await api.put(PARTNER, f"/parties/{dupont}/plan", json={"plan_id": "premium"})).status_code == 403
    api.platform.settings.sip.port = 0
    runtime = SipRuntime(api.platform)
    await runtime.start()
    try:  # the call policy (CAP-3) enforces the capacity of the plan's reading, once assigned
        assert runtime.policy_state.snapshot.accounts[dupont].channels == 3
        assigned = await api.put(OPERATOR, f"/parties/{dupont}/plan", json={"plan_id": "premium"})
        assert assigned.status_code == 200, assigned.text
        await runtime.policy_state.reload()
        assert runtime.policy_state.snapshot.accounts[dupont].channels == 5
    finally:
        await runtime.stop(grace_s=1)
    graduated = (await api.get(OPERATOR, f"/customers/{dupont}/capacity")).json()
    assert (graduated["reading"], graduated["channels"]) == ("graduated", 5)  # 2 × 2 + 1 × 1
    plans = (await api.get(OPERATOR, "/plans")).json()
    assert plans["assignments"][dupont] == "premium"
    assert {p["plan_id"] for p in plans["plans"]} >= {"business", "premium"}
    later = {**premium, "version": "premium-2", "valid_from": "2026-03-01", "capacity_reading": "literal"}
    assert (await api.post(OPERATOR, "/plans/premium/price-lists", json=later)).status_code == 201
    versions = (await api.get(OPERATOR, "/plans/premium")).json()["price_lists"]
    assert [(v["version"], v["valid_to"]) for v in versions] == [
        ("premium-1", "2026-03-01"),
        ("premium-2", None),
    ]
    past = await api.post(
        OPERATOR, "/plans/premium/price-lists", json={**premium, "version": "old", "valid_from": "2026-01-01"}
    )
    assert past.status_code == 422
    assert past.json()["details"]["rule_id"] == "BIL-2"
    assert (await api.post(OPERATOR, "/plans/premium/price-lists", json=later)).status_code == 409
    assert Decimal(versions[0]["recurring"]["billable_users"]["unit_price"]) == Decimal("19.50")
