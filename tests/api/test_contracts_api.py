"""Contract life over the API (CTR-1..4): the contract read, a notice previewed then confirmed with its
early-termination balance, the end taking effect, a bankruptcy stopping service and billing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.services.billing.contracts import apply_terminations
from nuage.services.context import Context
from nuage.tenancy.model import PartyKind

from .support import Api
from .test_billing_api import _bill_the_demo_month

OPERATOR, PARTNER, DUPONT, PEETERS = "demo-operator", "demo-bruvoice", "demo-dupont", "demo-peeters"


@pytest.fixture
async def billed(api: Api) -> Api:
    """January billed (its invoices are the previous invoices of CTR-3), the clock on 10 February."""
    api.platform.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    await _bill_the_demo_month(api)
    api.platform.clock.set(datetime(2026, 2, 10, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    return api


@pytest.mark.rule("CTR-1")
@pytest.mark.rule("TEN-4")
async def test_the_contract_is_read_by_its_tenants(billed: Api) -> None:
    api = billed
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    contract = await api.get(DUPONT, f"/customers/{dupont}/contract")
    assert contract.status_code == 200, contract.text
    body = contract.json()
    assert (body["start_on"], body["minimum_term_months"], body["minimum_term_end_on"]) == (
        "2026-01-10",
        24,
        "2028-01-10",
    )
    assert body["termination"] is None
    assert body["in_service_today"] is True
    assert (await api.get(PEETERS, f"/customers/{dupont}/contract")).status_code == 404
    notice = await api.post(
        DUPONT, f"/customers/{dupont}/contract/notice", json={"received_on": "2026-02-09", "confirm": True}
    )
    assert notice.status_code == 403  # only the operator records a notice


@pytest.mark.rule("CTR-2")
@pytest.mark.rule("CTR-3")
async def test_a_notice_is_previewed_with_its_balance_then_confirmed(billed: Api) -> None:
    api = billed
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    path = f"/customers/{dupont}/contract/notice"
    preview = await api.post(OPERATOR, path, json={"received_on": "2026-02-09"})
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["confirmed"] is False
    assert shown["contract"]["termination"]["effective_on"] == "2026-03-01"  # end of the current period
    assert Decimal(shown["balance"]) > 0
    assert {line["months"] for line in shown["balance_lines"]} == {"691/31"}  # 22 months + 9/31
    assert shown["balance_invoice"] is None
    assert (await api.get(OPERATOR, f"/customers/{dupont}/contract")).json()["termination"] is None
    confirmed = await api.post(OPERATOR, path, json={"received_on": "2026-02-09", "confirm": True})
    assert confirmed.status_code == 201, confirmed.text
    done = confirmed.json()
    assert done["balance"] == shown["balance"]
    invoice = await api.get(OPERATOR, f"/invoices/{done['balance_invoice']}")
    assert {line["rule_id"] for line in invoice.json()["lines"]} == {"CTR-3"}
    again = await api.post(OPERATOR, path, json={"received_on": "2026-02-09", "confirm": True})
    assert again.status_code == 409
    future = await api.post(
        OPERATOR,
        f"/customers/{api.party_id(PartyKind.CUSTOMER, 'Cabinet Lemaire')}/contract/notice",
        json={"received_on": "2026-02-11"},
    )
    assert future.status_code == 422
    assert future.json()["details"]["field"] == "received_on"


@pytest.mark.rule("CTR-2")
@pytest.mark.rule("EMG-4")
async def test_the_service_ends_on_the_effective_date(billed: Api) -> None:
    api = billed
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    confirmed = await api.post(
        OPERATOR, f"/customers/{dupont}/contract/notice", json={"received_on": "2026-02-09", "confirm": True}
    )
    assert confirmed.status_code == 201

    operator = api.party_id(PartyKind.OPERATOR, "Nuage Telecom")
    with api.platform.uow() as uow:
        assert apply_terminations(uow, Context.operator(operator, api.platform.clock)) == []
    api.platform.clock.set(datetime(2026, 3, 1, 0, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    with api.platform.uow() as uow:
        assert apply_terminations(uow, Context.operator(operator, api.platform.clock)) == [dupont]
    customer = (await api.get(OPERATOR, f"/customers/{dupont}")).json()
    assert customer["status"] == "terminated"
    assert "CTR-2" in customer["status_reason"]
    assert (await api.get(OPERATOR, f"/customers/{dupont}/contract")).json()["in_service_today"] is False


@pytest.mark.rule("CTR-4")
async def test_a_bankruptcy_stops_service_and_billing(billed: Api) -> None:
    api = billed
    lemaire = api.party_id(PartyKind.CUSTOMER, "Cabinet Lemaire")
    by_status = await api.put(
        OPERATOR, f"/customers/{lemaire}/status", json={"status": "bankrupt", "reason": "x"}
    )
    assert by_status.status_code == 422
    assert by_status.json()["details"]["rule_id"] == "CTR-4"
    assert f"/customers/{lemaire}/contract/bankruptcy" in by_status.json()["message"]
    declared = await api.post(
        OPERATOR, f"/customers/{lemaire}/contract/bankruptcy", json={"proof_on": "2026-02-10"}
    )
    assert declared.status_code == 201, declared.text
    assert declared.json()["bankruptcy_proof_on"] == "2026-02-10"
    assert declared.json()["in_service_today"] is False
    assert (await api.get(OPERATOR, f"/customers/{lemaire}")).json()["status"] == "bankrupt"
    twice = await api.post(
        OPERATOR, f"/customers/{lemaire}/contract/bankruptcy", json={"proof_on": "2026-02-10"}
    )
    assert twice.status_code == 409
    api.platform.clock.set(datetime(2026, 4, 2, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    for month in ("2026-02", "2026-03"):
        assert (await api.post(OPERATOR, "/billing/counts", json={"month": month})).status_code == 200
    run = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-03"})
    assert run.status_code == 200, run.text
    march = (
        await api.get(OPERATOR, "/invoices", params={"customer_id": lemaire, "period": "2026-03"})
    ).json()
    assert march["total"] == 0  # billing stopped with the bankruptcy


@pytest.mark.rule("CTR-2")
@pytest.mark.rule("CTR-3")
async def test_a_notice_withdrawn_before_its_end_credits_its_balance_and_is_audited(billed: Api) -> None:
    api = billed
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    base = f"/customers/{dupont}/contract"
    confirmed = await api.post(
        OPERATOR, f"{base}/notice", json={"received_on": "2026-02-09", "confirm": True}
    )
    balance_invoice = confirmed.json()["balance_invoice"]
    assert balance_invoice is not None
    refused = await api.post(DUPONT, f"{base}/notice/withdrawal", json={"reason": "kept"})
    assert refused.status_code == 403
    withdrawn = await api.post(OPERATOR, f"{base}/notice/withdrawal", json={"reason": "kept by agreement"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["termination"] is None
    assert withdrawn.json()["in_service_today"] is True
    credited = (await api.get(OPERATOR, f"/invoices/{balance_invoice}")).json()
    assert credited["credited_by"] is not None  # BIL-4: a credit note, the invoice itself unchanged
    again = await api.post(OPERATOR, f"{base}/notice/withdrawal", json={"reason": "again"})
    assert again.status_code == 409
    events = (await api.get(DUPONT, f"{base}/events")).json()["items"]
    assert [e["action"] for e in events] == ["notice", "notice-withdrawn"]
    assert "kept by agreement" in events[1]["detail"]
    assert credited["credited_by"] in events[1]["detail"]
    assert events[1]["actor_id"] == api.party_id(PartyKind.OPERATOR)
    assert (await api.get(PEETERS, f"{base}/events")).status_code == 404


@pytest.mark.rule("CTR-2")
async def test_a_notice_that_took_effect_cannot_be_withdrawn(billed: Api) -> None:
    api = billed
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    base = f"/customers/{dupont}/contract"
    await api.post(OPERATOR, f"{base}/notice", json={"received_on": "2026-02-09", "confirm": True})
    api.platform.clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    late = await api.post(OPERATOR, f"{base}/notice/withdrawal", json={"reason": "too late"})
    assert late.status_code == 422
    assert late.json()["details"]["rule_id"] == "CTR-2"
    assert "new order makes a new contract" in late.json()["message"]
    blank = await api.post(OPERATOR, f"{base}/notice/withdrawal", json={"reason": " "})
    assert blank.status_code == 422


@pytest.mark.rule("CTR-4")
async def test_a_bankruptcy_reversed_restores_service_and_is_audited(billed: Api) -> None:
    api = billed
    lemaire = api.party_id(PartyKind.CUSTOMER, "Cabinet Lemaire")
    base = f"/customers/{lemaire}/contract"
    assert (
        await api.post(OPERATOR, f"{base}/bankruptcy", json={"proof_on": "2026-02-10"})
    ).status_code == 201
    reversed_ = await api.post(OPERATOR, f"{base}/bankruptcy/reversal", json={"reason": "judgement reversed"})
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["bankruptcy_proof_on"] is None
    assert reversed_.json()["in_service_today"] is True
    assert (await api.get(OPERATOR, f"/customers/{lemaire}")).json()["status"] == "active"
    events = (await api.get(OPERATOR, f"{base}/events")).json()["items"]
    assert [e["action"] for e in events] == ["bankruptcy", "bankruptcy-reversed"]
    twice = await api.post(OPERATOR, f"{base}/bankruptcy/reversal", json={"reason": "again"})
    assert twice.status_code == 409
