"""CFG-7 in the portal: an account that received many fax pages lately is told, with the figures,
to keep an analogue line; one that received few sees only the general best-effort notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page

from nuage.directory.fax import HEAVY_FAX_PAGES, FaxStatus, ReceivedFax
from nuage.services import fax as faxes
from nuage.services.context import Context
from nuage.services.directory.media import add_virtual_fax
from nuage.services.directory.numbers import add_number
from nuage.tenancy.model import PartyKind
from web.conftest import Live, log_in


@pytest.mark.rule("CFG-7")
def test_a_heavy_fax_user_is_warned_on_the_media_page(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    with live.platform.uow() as uow:
        ctx = Context.operator(dupont, live.platform.clock)
        number = add_number(uow, ctx, dupont, "+3223000199")
        virtual = add_virtual_fax(uow, ctx, dupont, number.id, "fax@dupont.example")
        uow.commit()
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/media")
    assert "best effort" in page.locator("#fax-warning").inner_text()
    assert page.locator("#heavy-fax-warning").count() == 0
    with live.platform.uow() as uow:
        at = live.platform.clock.now() - timedelta(days=3)
        fax = ReceivedFax("rfx-heavy", virtual.id, dupont, at, FaxStatus.RECEIVED, HEAVY_FAX_PAGES, "OK")
        faxes.record_fax(uow, fax)
        uow.commit()
    page.goto(f"/accounts/{dupont}/media")
    warning = page.locator("#heavy-fax-warning").inner_text()
    assert f"received {HEAVY_FAX_PAGES} fax pages in the last 30 days" in warning
    assert "analogue line" in warning
