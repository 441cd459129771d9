"""Billing over the API: operator jobs (CNT-1, RAT, BIL-9), scoped invoices (TEN-4), lines with rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.services.billing_demo import demo_cdr_csv
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
    assert imported.json() == {"imported": 10, "already_imported": 0, "errors": []}
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
