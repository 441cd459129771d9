"""Received faxes over the API (CFG-7): listed with status and reason, the PDF downloaded, by the
fax's tenant only (TEN-4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nuage.directory.fax import HEAVY_FAX_DAYS, HEAVY_FAX_PAGES, FaxStatus, ReceivedFax, heavy_fax_user
from nuage.services import fax as faxes
from nuage.tenancy.model import PartyKind

from .support import Api

DUPONT, PEETERS = "demo-dupont", "demo-peeters"


@pytest.mark.rule("CFG-7")
async def test_received_faxes_are_listed_and_downloaded_by_their_tenant_only(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    number = await api.post(DUPONT, "/numbers", json={"account_id": dupont, "e164": "+3223000188"})
    assert number.status_code == 201, number.text
    created = await api.post(
        DUPONT, "/virtual-faxes", json={"number_id": number.json()["id"], "email": "fax@dupont.example"}
    )
    assert created.status_code == 201, created.text
    fax_id = created.json()["id"]
    pdf = b"%PDF-1.4 two pages"
    with api.platform.uow() as uow:
        stored, _ = faxes.record_fax(
            uow,
            ReceivedFax(
                "rfx-api-1", fax_id, dupont, datetime.now(UTC), FaxStatus.PARTIAL, 1,
                "The call dropped prematurely", sender="+32 2 555 01 00", size_bytes=len(pdf),
            ),
        )  # fmt: skip
        uow.commit()
    path = faxes.pdf_file(api.platform.settings.data_dir, stored)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)

    listed = await api.get(DUPONT, f"/received-faxes?fax_id={fax_id}")
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert (item["status"], item["pages"], item["reason"]) == ("partial", 1, "The call dropped prematurely")
    download = await api.get(DUPONT, f"/received-faxes/{stored.id}/pdf")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.content == pdf
    assert (await api.get(PEETERS, f"/received-faxes/{stored.id}/pdf")).status_code == 404
    assert (await api.get(PEETERS, f"/received-faxes/{stored.id}")).status_code == 404


@pytest.mark.rule("CFG-7")
async def test_an_account_receiving_many_fax_pages_is_warned_to_keep_an_analogue_line(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    number = await api.post(DUPONT, "/numbers", json={"account_id": dupont, "e164": "+3223000189"})
    created = await api.post(
        DUPONT, "/virtual-faxes", json={"number_id": number.json()["id"], "email": "fax@dupont.example"}
    )
    fax_id = created.json()["id"]

    def received(fax_key: str, pages: int, days_ago: int) -> None:
        with api.platform.uow() as uow:
            at = api.platform.clock.now() - timedelta(days=days_ago)
            faxes.record_fax(uow, ReceivedFax(fax_key, fax_id, dupont, at, FaxStatus.RECEIVED, pages, "OK"))
            uow.commit()

    received("rfx-old", HEAVY_FAX_PAGES, HEAVY_FAX_DAYS + 1)  # long ago: does not count
    received("rfx-1", HEAVY_FAX_PAGES - 1, 2)
    usage = await api.get(DUPONT, f"/customers/{dupont}/fax-usage")
    assert usage.status_code == 200, usage.text
    assert (usage.json()["pages"], usage.json()["heavy"], usage.json()["warning"]) == (
        HEAVY_FAX_PAGES - 1,
        False,
        None,
    )
    received("rfx-2", 1, 1)
    usage = await api.get(DUPONT, f"/customers/{dupont}/fax-usage")
    assert usage.json()["heavy"] is True
    assert "analogue line" in usage.json()["warning"]
    assert (await api.get(PEETERS, f"/customers/{dupont}/fax-usage")).status_code == 404


@pytest.mark.rule("CFG-7")
def test_a_heavy_fax_user_is_one_with_many_pages() -> None:
    assert not heavy_fax_user(HEAVY_FAX_PAGES - 1)
    assert heavy_fax_user(HEAVY_FAX_PAGES)
