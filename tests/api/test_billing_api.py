"""Billing over the API: operator jobs (CNT-1, RAT, BIL-9), scoped invoices (TEN-4), lines with rules."""

from __future__ import annotations

import hashlib
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


@pytest.mark.rule("BIL-4")
async def test_renaming_the_customer_after_issue_changes_no_byte_of_its_invoice(after_january: Api) -> None:
    api = after_january
    await _bill_the_demo_month(api)
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    (header,) = (await api.get(DUPONT, "/invoices")).json()["items"]
    number = header["number"]
    renamed = await api.patch(
        DUPONT, f"/customers/{dupont}", json={"name": "Dupont Renamed SA", "city": "Gent"}
    )
    assert renamed.status_code == 200, renamed.text
    first = {kind: (await api.get(DUPONT, f"/invoices/{number}/{kind}")).content for kind in ("pdf", "ubl")}
    assert b"Atelier Dupont" in first["ubl"]  # the buyer as it was at issue
    assert b"Dupont Renamed" not in first["ubl"]
    assert b"Gent" not in first["ubl"]
    again = await api.patch(DUPONT, f"/customers/{dupont}", json={"name": "Dupont Again", "language": "nl"})
    assert again.status_code == 200, again.text
    for kind in ("pdf", "ubl"):
        later = (await api.get(DUPONT, f"/invoices/{number}/{kind}")).content
        assert hashlib.sha256(later).hexdigest() == hashlib.sha256(first[kind]).hexdigest()
    (listed,) = (await api.get(DUPONT, "/invoices")).json()["items"]
    assert listed["number"] == number


@pytest.mark.rule("TEN-5")
@pytest.mark.parametrize(
    ("field", "value", "error_id"),
    [
        ("country", "XX", "invalid-country"),
        ("country", "UK", "invalid-country"),
        ("vat_number", "BE0123456789", "invalid-vat-number"),  # wrong check digits
        ("vat_number", "XX0123456789", "invalid-vat-number"),
    ],
)
async def test_a_party_with_an_unknown_country_or_a_wrong_vat_number_is_refused(
    api: Api, field: str, value: str, error_id: str
) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    changed = await api.patch(DUPONT, f"/customers/{dupont}", json={field: value})
    assert changed.status_code == 422, changed.text
    assert changed.json()["error_id"] == error_id
    assert changed.json()["details"]["field"] == field
    created = await api.post(OPERATOR, "/customers", json={"name": "Nouvelle SPRL", field: value})
    assert created.status_code == 422, created.text
    assert created.json()["error_id"] == error_id
    fine = await api.patch(
        DUPONT, f"/customers/{dupont}", json={"country": "be", "vat_number": "BE 0123.456.749"}
    )
    assert fine.status_code == 200, fine.text
    assert (fine.json()["country"], fine.json()["vat_number"]) == ("BE", "BE0123456749")


@pytest.mark.rule("BIL-2")
@pytest.mark.rule("BIL-4")
async def test_a_run_the_rules_do_not_allow_is_refused_with_its_rule(after_january: Api) -> None:
    api = after_january
    future = await api.post(OPERATOR, "/billing/runs", json={"period": "2485-01"})
    assert future.status_code == 422, future.text
    assert future.json()["error_id"] == "period-not-closed"
    assert future.json()["details"]["rule_id"] == "BIL-2"
    for run_on, rule_id in (("2025-12-31", "BIL-2"), ("2026-02-04", "BIL-4")):
        refused = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": run_on})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error_id"] == "run-date-refused"
        assert refused.json()["details"]["rule_id"] == rule_id
    await _bill_the_demo_month(api)  # issued on 2026-01-28
    back_dated = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": "2026-01-26"})
    assert back_dated.status_code == 422, back_dated.text
    assert back_dated.json()["details"]["rule_id"] == "BIL-4"  # before the last invoice: not chronological


@pytest.mark.rule("API-1")
@pytest.mark.parametrize(
    "body",
    [
        {"period": "2026-01", "run_on": 0},
        {"period": "2026-01", "run_on": 1769558400},
        {"period": "2026-01", "run_on": "2026-01-28T00:00:00"},
        {"period": "2026-01", "dry_run": 1},
        {"period": "2026-01", "dry_run": "true"},
        {"period": 202601},
    ],
)
async def test_a_run_takes_strict_types(after_january: Api, body: dict[str, object]) -> None:
    answer = await after_january.post(OPERATOR, "/billing/runs", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error_id"] == "invalid-input"
    assert answer.json()["details"]["field"] in {"run_on", "dry_run", "period"}


@pytest.mark.rule("BIL-9")
async def test_a_dry_run_shows_what_would_be_issued_and_issues_nothing(after_january: Api) -> None:
    api = after_january
    with api.platform.uow() as uow:
        csv_text = demo_cdr_csv(uow)
    await api.post(OPERATOR, "/billing/counts", json={"month": "2026-01"})
    await api.post(
        OPERATOR, "/billing/cdr-imports", content=csv_text.encode(), headers={"Content-Type": "text/csv"}
    )
    await api.post(OPERATOR, "/billing/ratings")
    dry = await api.post(
        OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": "2026-01-28", "dry_run": True}
    )
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dry_run"] is True
    assert body["invoices"] == []
    assert len(body["would_issue"]) == 3
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    (mine,) = [draft for draft in body["would_issue"] if draft["invoiced_party_id"] == dupont]
    assert (mine["gross"], mine["issue_on"], mine["line_count"]) == ("102.03", "2026-01-28", 7)
    assert (await api.get(OPERATOR, "/invoices")).json()["total"] == 0
    run = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": "2026-01-28"})
    assert run.json()["invoices"] == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
