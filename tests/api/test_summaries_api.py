"""Monthly summaries over the API (CNT-1): read by their tenants, chains verified, a broken one stops runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, PARTNER, DUPONT = "demo-operator", "demo-bruvoice", "demo-dupont"


def _account(api: Api, name: str) -> str:
    with api.platform.uow() as uow:
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name=name)
        assert party is not None
        return party.id


def tamper(api: Api, account_id: str) -> None:
    """What someone with the database's keys could do: drop the guard, change a frozen count."""
    with api.platform.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER monthly_summaries_no_update"))
        connection.execute(
            text("UPDATE monthly_summaries SET items = :items WHERE account_id = :a"),
            {"items": '{"billable_users": "1"}', "a": account_id},
        )


@pytest.fixture
async def frozen(api: Api) -> Api:
    api.platform.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    counted = await api.post(OPERATOR, "/billing/counts", json={"month": "2026-01"})
    assert counted.status_code == 200, counted.text
    return api


@pytest.mark.rule("CNT-1")
@pytest.mark.rule("TEN-4")
async def test_a_customer_reads_its_summaries_and_no_one_elses(frozen: Api) -> None:
    api = frozen
    dupont, peeters = _account(api, "Atelier Dupont"), _account(api, "Bakkerij Peeters")
    own = await api.get(DUPONT, "/billing/summaries", params={"account_id": dupont})
    assert own.status_code == 200
    [january] = own.json()["items"]
    assert january["month"] == "2026-01"
    assert january["previous_hash"] == "0" * 64
    assert len(january["hash"]) == 64
    assert january["items"]["billable_users"] != "0"
    assert (await api.get(DUPONT, "/billing/summaries", params={"account_id": peeters})).status_code == 404
    assert (await api.get(OPERATOR, "/billing/summaries", params={"account_id": peeters})).status_code == 200
    mine = (await api.get(DUPONT, "/billing/summaries/verification")).json()
    assert mine["intact"] is True
    assert [a["account_id"] for a in mine["accounts"]] == [dupont]
    everyone = (await api.get(OPERATOR, "/billing/summaries/verification")).json()
    assert len(everyone["accounts"]) >= 3


@pytest.mark.rule("CNT-1")
async def test_a_changed_summary_breaks_its_chain_and_no_run_bills_from_it(frozen: Api) -> None:
    api = frozen
    dupont = _account(api, "Atelier Dupont")
    tamper(api, dupont)
    verified = (await api.get(OPERATOR, "/billing/summaries/verification")).json()
    assert verified["intact"] is False
    [broken] = [a for a in verified["accounts"] if not a["intact"]]
    assert broken["account_id"] == dupont
    assert broken["broken"] == {"month": "2026-01", "reason": "content does not match its hash"}
    read = await api.get(DUPONT, "/billing/summaries", params={"account_id": dupont})
    assert read.status_code == 409
    assert read.json()["details"]["rule_id"] == "CNT-1"
    run = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01"})
    assert run.status_code == 422
    assert run.json()["details"]["rule_id"] == "CNT-1"
    assert dupont in run.json()["message"]
    assert "Nothing was issued" in run.json()["message"]
    assert (await api.get(OPERATOR, "/invoices")).json()["items"] == []
