"""SIP trunking billed and sized (SIP-3): a trunk's channel count is the capacity it pays for,
counted in the monthly summary and billed as a recurring item."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, LEMAIRE = "demo-operator", "demo-lemaire"


@pytest.mark.rule("SIP-3")
@pytest.mark.rule("CAP-1")
@pytest.mark.rule("CNT-1")
async def test_trunk_channels_add_capacity_are_counted_and_billed(api: Api) -> None:
    api.platform.clock.set(datetime(2026, 2, 3, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    lemaire = api.party_id(PartyKind.CUSTOMER, "Cabinet Lemaire")
    before = (await api.get(LEMAIRE, f"/customers/{lemaire}/capacity")).json()
    assert before["trunk_channels"] == 0
    [trunk] = (await api.get(LEMAIRE, "/trunks")).json()["items"]
    changed = await api.patch(LEMAIRE, f"/trunks/{trunk['id']}", json={"channel_limit": 4})
    assert changed.status_code == 200, changed.text
    after = (await api.get(LEMAIRE, f"/customers/{lemaire}/capacity")).json()
    assert after["trunk_channels"] == 4
    assert after["channels"] == before["channels"] + 4  # on top of the users' CAP-1 channels
    counted = await api.post(OPERATOR, "/billing/counts", json={"month": "2026-01"})
    assert counted.status_code == 200, counted.text
    summary = (await api.get(LEMAIRE, "/billing/summaries", params={"account_id": lemaire})).json()
    assert Decimal(summary["items"][0]["items"]["trunk_channels"]) == 4
    run = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": "2026-01-28"})
    assert run.status_code == 200, run.text
    [header] = (await api.get(OPERATOR, "/invoices", params={"customer_id": lemaire})).json()["items"]
    invoice = (await api.get(OPERATOR, f"/invoices/{header['number']}")).json()
    lines = [line for line in invoice["lines"] if line["item_kind"] == "trunk_channels"]
    assert [line["period"] for line in lines] == ["2026-01", "2026-02"]
    assert all(Decimal(line["quantity"]) == 4 and line["rule_id"] == "BIL-2" for line in lines)
    assert Decimal(lines[1]["amount"]) == 4 * Decimal(lines[1]["unit_price"]) > 0
    assert lines[1]["sources"][0]["kind"] == "monthly-summary"
