"""EMG-2 over the API: a device's site or a trunk's declared address is compared with the postal
address of the block of the number it presents to emergency services; a mismatch is flagged."""

from __future__ import annotations

from typing import Any

import pytest

from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, DUPONT, LEMAIRE, PEETERS = "demo-operator", "demo-dupont", "demo-lemaire", "demo-peeters"


def _mismatches(body: dict[str, Any]) -> dict[str, str]:
    return {f["item_id"]: f["message"] for f in body["findings"] if f["kind"] == "address_mismatch"}


@pytest.mark.rule("EMG-2")
@pytest.mark.rule("SIP-3")
async def test_a_device_or_trunk_elsewhere_than_its_block_is_flagged(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    lemaire = api.party_id(PartyKind.CUSTOMER, "Cabinet Lemaire")
    with api.platform.uow() as uow:
        bob = uow.users.find_by(account_id=dupont, name="Bob Martin")
    assert bob is not None
    here = {"kind": "desk_phone", "user_id": bob.id, "site": "Rue  Haute 120, 1000 Bruxelles"}
    right = (await api.post(DUPONT, "/devices", json={**here, "label": "Office"})).json()
    away = {**here, "label": "Annex", "site": "Chaussée de Louvain 50, 1030 Schaerbeek"}
    wrong = (await api.post(DUPONT, "/devices", json=away)).json()
    readiness = (await api.get(DUPONT, f"/customers/{dupont}/emergency-readiness")).json()
    flagged = _mismatches(readiness)
    assert wrong["id"] in flagged
    assert right["id"] not in flagged
    assert "Chaussée de Louvain 50" in flagged[wrong["id"]]
    assert "Rue Haute 120" in flagged[wrong["id"]]
    assert readiness["ready"] is False

    [trunk] = (await api.get(LEMAIRE, "/trunks")).json()["items"]
    [number] = [n for n in (await api.get(LEMAIRE, "/numbers")).json()["items"] if n["e164"] == "+3281000300"]
    declared = {"emergency_number_id": number["id"], "site": "Rue de Fer 12, 5000 Namur"}
    changed = await api.patch(LEMAIRE, f"/trunks/{trunk['id']}", json=declared)
    assert changed.status_code == 200, changed.text
    assert changed.json()["site"] == "Rue de Fer 12, 5000 Namur"

    everyone = (await api.get(OPERATOR, "/emergency/caller-id-check")).json()
    seen = {(f["account_id"], f["item_id"]) for f in everyone["findings"] if f["kind"] == "address_mismatch"}
    assert {(dupont, wrong["id"]), (lemaire, trunk["id"])} <= seen
    assert all(f["rule_id"] == "EMG-2" for f in everyone["findings"])
    own = (await api.get(DUPONT, "/emergency/caller-id-check")).json()
    assert {f["account_id"] for f in own["findings"]} == {dupont}  # TEN-4
    other = await api.get(PEETERS, "/emergency/caller-id-check", params={"account_id": dupont})
    assert other.status_code == 404

    moved = await api.patch(LEMAIRE, f"/trunks/{trunk['id']}", json={"site": "Place d'Armes 3, 5000 Namur"})
    assert moved.status_code == 200
    again = (await api.get(OPERATOR, "/emergency/caller-id-check", params={"account_id": lemaire})).json()
    assert trunk["id"] not in _mismatches(again)
