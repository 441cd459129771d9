"""Declaration audit over the API (CNT-4): findings seen by their tenant, regularised by the operator
as a retroactive line of the next invoice that cites the finding (BIL-10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from nuage.storage.sql import tables
from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, PARTNER, DUPONT, PEETERS = "demo-operator", "demo-bruvoice", "demo-dupont", "demo-peeters"


def _register(api: Api, username: str, contacts: int, now: datetime) -> None:
    """What the SIP plane's binding store keeps when ``contacts`` phones register one username."""
    with api.platform.engine.begin() as connection:
        for index in range(contacts):
            connection.execute(
                insert(tables.sip_bindings).values(
                    aor=username,
                    contact=f"sip:{username}@192.0.2.{10 + index}:5060",
                    device_id=None,
                    expires_at=now + timedelta(hours=1),
                    received=f"192.0.2.{10 + index}:5060",
                    transport="udp",
                    call_id=f"reg-{index}",
                    cseq=1,
                    updated_at=now,
                )
            )


async def _month(api: Api, month: str, run_on: str) -> None:
    counted = await api.post(OPERATOR, "/billing/counts", json={"month": month})
    assert counted.status_code == 200, counted.text
    run = await api.post(OPERATOR, "/billing/runs", json={"period": month, "run_on": run_on})
    assert run.status_code == 200, run.text


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("BIL-10")
async def test_findings_are_regularised_once_on_the_next_invoice(api: Api) -> None:
    now = datetime(2026, 2, 3, 8, tzinfo=UTC)
    api.platform.clock.set(now)  # type: ignore[attr-defined]
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    with api.platform.uow() as uow:
        bob = uow.users.find_by(account_id=dupont, name="Bob Martin")
    assert bob is not None
    for n in range(4):  # Bob already has one desk phone: five in all
        made = await api.post(
            DUPONT, "/devices", json={"kind": "desk_phone", "label": f"Desk {n}", "user_id": bob.id}
        )
        assert made.status_code == 201, made.text
    _register(api, "bob", 2, now)  # Bob's credentials on two phones at once

    found = await api.get(DUPONT, f"/customers/{dupont}/audit")
    assert found.status_code == 200, found.text
    body = found.json()
    kinds = [f["kind"] for f in body["findings"]]
    assert kinds.count("excess_desk_phones") == 3  # one person uses two at most
    assert "registered_undeclared:bob#2" in [f["key"] for f in body["findings"]]
    assert body["missing_users"] >= 4
    assert all(f["regularisation"] is None for f in body["findings"])
    assert (await api.get(PEETERS, f"/customers/{dupont}/audit")).status_code == 404  # TEN-4
    assert (await api.get(PARTNER, f"/customers/{dupont}/audit")).status_code == 404  # not its customer
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    assert (await api.get(PARTNER, f"/customers/{peeters}/audit")).status_code == 200  # its customer's
    finding = next(f["key"] for f in body["findings"] if f["kind"] == "excess_desk_phones")

    early = await api.post(OPERATOR, f"/customers/{dupont}/audit/regularisations", json={"finding": finding})
    assert early.status_code == 409  # nothing invoiced yet: declaring the user is enough
    assert early.json()["details"]["rule_id"] == "CNT-4"

    await _month(api, "2026-01", "2026-01-28")  # January (pro rata) and February invoiced
    refused = await api.post(DUPONT, f"/customers/{dupont}/audit/regularisations", json={"finding": finding})
    assert refused.status_code == 403
    unknown = await api.post(
        OPERATOR, f"/customers/{dupont}/audit/regularisations", json={"finding": "excess_desk_phones:nope"}
    )
    assert unknown.status_code == 404
    made = await api.post(OPERATOR, f"/customers/{dupont}/audit/regularisations", json={"finding": finding})
    assert made.status_code == 201, made.text
    line = made.json()
    assert line["rule_id"] == "CNT-4"
    params = line["description_params"]
    assert (params["months"], params["from"], params["through"]) == ("2", "2026-01", "2026-02")
    assert Decimal(line["amount"]) == 2 * Decimal(params["unit_price"]) > 0
    assert ["audit-finding", f"{dupont}:{finding}"] in line["sources"]
    assert line["invoiced_in"] is None
    again = await api.post(OPERATOR, f"/customers/{dupont}/audit/regularisations", json={"finding": finding})
    assert again.status_code == 409

    api.platform.clock.set(datetime(2026, 3, 3, 8, tzinfo=UTC))  # type: ignore[attr-defined]
    await _month(api, "2026-02", "2026-02-28")
    listed = (await api.get(OPERATOR, "/invoices", params={"customer_id": dupont})).json()["items"]
    latest = (await api.get(OPERATOR, f"/invoices/{listed[-1]['number']}")).json()
    [regularised] = [entry for entry in latest["lines"] if entry["rule_id"] == "CNT-4"]
    assert regularised["customer_id"] == dupont
    assert regularised["vat_category"] == "S"  # the price of a service, not compensation
    assert Decimal(regularised["amount"]) == Decimal(line["amount"])
    assert {"kind": "audit-finding", "key": f"{dupont}:{finding}"} in regularised["sources"]
    seen = (await api.get(DUPONT, f"/customers/{dupont}/audit")).json()
    [done] = [f for f in seen["findings"] if f["key"] == finding]
    assert done["regularisation"]["invoiced_in"] == listed[-1]["number"]
