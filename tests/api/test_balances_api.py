"""Balances and dunning over the API (PAY-1, PAY-2, PAY-3): what is owed, split; where a party stands."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from nuage.services.context import Context
from nuage.services.payments import dunning, payments
from nuage.tenancy.model import PartyKind

from .support import Api
from .test_billing_api import _bill_the_demo_month

OPERATOR, DUPONT, PEETERS = "demo-operator", "demo-dupont", "demo-peeters"


def _dun(api: Api, on: date) -> None:
    operator = api.party_id(PartyKind.OPERATOR)
    with api.platform.uow() as uow:
        dunning.run_dunning(uow, Context.operator(operator, api.platform.clock), api.platform.payments, on)
        uow.commit()


@pytest.mark.rule("PAY-1")
@pytest.mark.rule("PAY-2")
@pytest.mark.rule("TEN-4")
async def test_a_party_reads_what_it_owes_and_where_it_stands(api: Api) -> None:
    api.platform.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    await _bill_the_demo_month(api)
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    (invoice,) = (await api.get(DUPONT, "/invoices")).json()["items"]
    with api.platform.uow() as uow:
        due = payments.current_ledger(uow, api.platform.payments).invoices[invoice["number"]].due_on
    first, second = date.fromordinal(due.toordinal() + 7), date.fromordinal(due.toordinal() + 40)
    api.platform.clock.set(datetime(second.year, second.month, second.day, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    _dun(api, first)
    _dun(api, second)  # 40 days late: the second reminder (in order, never the third) and interest
    [own] = (await api.get(DUPONT, "/balances")).json()["items"]
    assert own["party_id"] == dupont
    assert Decimal(own["balance"]) == Decimal(invoice["gross"])
    assert Decimal(own["pending_fees"]) == Decimal("7.50")  # the second reminder's fee
    assert Decimal(own["pending_interest"]) > 0
    assert Decimal(own["total_due"]) == Decimal(own["balance"]) + Decimal(own["pending_fees"]) + Decimal(
        own["pending_interest"]
    )
    status = await api.get(DUPONT, f"/balances/{dupont}/dunning")
    assert status.status_code == 200, status.text
    body = status.json()
    [overdue] = body["overdue"]
    assert (overdue["number"], overdue["last_reminder"], overdue["next_reminder"]) == (
        invoice["number"],
        2,
        3,
    )
    assert body["suspended"] is False
    assert "Next reminder: number 3" in body["explanation"]
    assert (await api.get(PEETERS, f"/balances/{dupont}/dunning")).status_code == 404
    assert dupont not in {b["party_id"] for b in (await api.get(PEETERS, "/balances")).json()["items"]}
    assert len((await api.get(OPERATOR, "/balances")).json()["items"]) >= 2
