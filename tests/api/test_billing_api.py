"""Billing over the API: operator jobs (CNT-1, RAT, BIL-9), scoped invoices (TEN-4), lines with rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.services.billing.demo import demo_cdr_csv
from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, PARTNER, DUPONT, PEETERS = "demo-operator", "demo-bruvoice", "demo-dupont", "demo-peeters"


async def _bill_the_demo_month(api: Api) -> None:
    with api.platform.uow() as uow:
        csv_text = demo_cdr_csv(uow)
    counted = await api.post(OPERATOR, "/billing/counts", json={"month": "2026-01"})
    assert counted.status_code == 200, counted.text
    assert len(counted.json()["frozen"]) == 3
    imported = await api.post(
        OPERATOR, "/billing/cdr-imports", content=csv_text.encode(), headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"imported": 10, "already_imported": 0, "changed": 0, "errors": []}
    rated = await api.post(OPERATOR, "/billing/ratings")
    assert rated.json()["stored"] == {"customer-retail": 10, "partner-wholesale": 5}
    run = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": "2026-01-28"})
    assert run.json()["invoices"] == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]


@pytest.fixture
def after_january(api: Api) -> Api:
    api.platform.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    return api


@pytest.mark.rule("BIL-9")
@pytest.mark.rule("BIL-10")
async def test_the_operator_runs_the_month_and_a_rerun_issues_nothing(after_january: Api) -> None:
    api = after_january
    await _bill_the_demo_month(api)
    again = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01"})
    assert again.json()["invoices"] == []
    assert again.json()["already_billed"] == 3
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    listed = await api.get(OPERATOR, "/invoices", params={"customer_id": dupont})
    assert listed.status_code == 200
    assert listed.headers["Cache-Control"].startswith("private")
    (header,) = listed.json()["items"]
    assert header["gross"] == "102.03"
    invoice = await api.get(OPERATOR, f"/invoices/{header['number']}")
    body = invoice.json()
    assert (body["net"], body["vat"], body["gross"]) == ("84.32", "17.71", "102.03")
    assert [line["rule_id"] for line in body["lines"]] == ["BIL-2"] * 6 + ["BIL-3"]
    assert body["lines"][0]["proration"] == "22/31"
    assert body["lines"][-1]["sources"][0]["kind"] == "rated-call"


@pytest.mark.rule("TEN-4")
async def test_a_partner_and_a_customer_see_only_their_own_invoices(after_january: Api) -> None:
    api = after_january
    await _bill_the_demo_month(api)
    partner = api.party_id(PartyKind.PARTNER, "Brussels Voice Partners")
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    mine = (await api.get(PARTNER, "/invoices")).json()
    assert [item["invoiced_party_id"] for item in mine["items"]] == [partner]
    assert (await api.get(DUPONT, "/invoices")).json()["total"] == 1
    assert (await api.get(PEETERS, "/invoices")).json()["total"] == 0  # its partner is invoiced (TEN-5)
    dupont_number = (await api.get(DUPONT, "/invoices")).json()["items"][0]["number"]
    assert (await api.get(PARTNER, f"/invoices/{dupont_number}")).status_code == 404
    assert (await api.get(PARTNER, "/invoices", params={"customer_id": dupont})).json()["total"] == 0


@pytest.mark.rule("TEN-4")
async def test_billing_jobs_are_the_operators_alone(after_january: Api) -> None:
    api = after_january
    for who in (PARTNER, DUPONT):
        answer = await api.post(who, "/billing/runs", json={"period": "2026-01"})
        assert answer.status_code == 404
        assert answer.json()["error_id"] == "not-found"
    bad = await api.post(OPERATOR, "/billing/counts", json={"month": "2026-13"})
    assert bad.status_code == 422  # the API's validation answer
    early = await api.post(OPERATOR, "/billing/counts", json={"month": "2026-02"})
    assert early.status_code == 409


@pytest.mark.rule("API-1")
@pytest.mark.parametrize("month", ["0000-01", "1999-12", "2026-13", "2026-00", "26-01"])
async def test_a_month_out_of_range_is_422_naming_the_field(after_january: Api, month: str) -> None:
    answer = await after_january.post(OPERATOR, "/billing/counts", json={"month": month})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error_id"] == "invalid-input"
    assert answer.json()["details"]["field"].endswith("month")


@pytest.mark.rule("API-1")
async def test_a_cdr_import_must_be_csv(after_january: Api) -> None:
    api = after_january
    as_json = await api.post(OPERATOR, "/billing/cdr-imports", json=[])
    assert as_json.status_code == 415, as_json.text
    assert as_json.json()["error_id"] == "unsupported-media-type"
    not_cdrs = await api.post(
        OPERATOR, "/billing/cdr-imports", content=b"[]", headers={"Content-Type": "text/csv"}
    )
    assert not_cdrs.status_code == 422, not_cdrs.text
    assert not_cdrs.json()["details"]["field"] == "body"
    header_only = b"cdr_id,account_id,started_at,destination,billable_seconds\n"
    as_csv = await api.post(
        OPERATOR,
        "/billing/cdr-imports",
        content=header_only,
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.json() == {"imported": 0, "already_imported": 0, "changed": 0, "errors": []}


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("TEN-4")
@pytest.mark.rule("API-4")
async def test_an_invoices_pdf_and_ubl_are_served_inside_its_tenant(after_january: Api) -> None:
    api = after_january
    await _bill_the_demo_month(api)
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    listed = await api.get(DUPONT, "/invoices")
    (header,) = listed.json()["items"]
    assert header["invoiced_party_id"] == dupont
    number = header["number"]
    pdf = await api.get(DUPONT, f"/invoices/{number}/pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["Cache-Control"].startswith("private")
    assert pdf.headers["Vary"] == "Authorization"
    ubl = await api.get(DUPONT, f"/invoices/{number}/ubl")
    assert ubl.status_code == 200, ubl.text
    assert ubl.headers["content-type"].startswith("application/xml")
    assert f"<cbc:ID>{number}</cbc:ID>".encode() in ubl.content
    assert ubl.headers["Content-Disposition"] == f'inline; filename="{number}.xml"'
    again = await api.get(DUPONT, f"/invoices/{number}/ubl", headers={"If-None-Match": ubl.headers["ETag"]})
    assert again.status_code == 304
    # TEN-4: another tenant's invoice is answered exactly like one that does not exist
    for kind in ("pdf", "ubl"):
        other = await api.get(PEETERS, f"/invoices/{number}/{kind}")
        missing = await api.get(PEETERS, f"/invoices/INV-2099-999999/{kind}")
        assert other.status_code == missing.status_code == 404
        assert other.json()["error_id"] == missing.json()["error_id"] == "not-found"
