"""BIL-4: an issued invoice shows what it showed at issue, whatever its parties become."""

from __future__ import annotations

import hashlib

import pytest
from alembic import command

from nuage.services import tenancy
from nuage.services.payments import documents
from nuage.storage.sql.migrate import alembic_config, upgrade
from payments_flow import Month1


def _rename(month1: Month1, party: str, name: str, **profile: str) -> None:
    with month1.uow() as (uow, _store):
        tenancy.update_party(uow, month1.ctx, month1.ids[party], name=name, **profile)


@pytest.mark.rule("BIL-4")
def test_documents_rendered_after_a_rename_show_the_parties_as_they_were_at_issue(month1: Month1) -> None:
    dupont, partner = month1.numbers["Atelier Dupont"], month1.numbers["Brussels Voice Partners"]
    with month1.uow() as (uow, _store):
        before = documents.render_documents(uow, month1.ctx, dupont, month1.tools)
    _rename(month1, "Atelier Dupont", "Dupont Renamed SA", street="Nieuwstraat 9")
    _rename(month1, "Brussels Voice Partners", "Voice Renamed", vat_number="FR40303265045", country="FR")
    with month1.uow() as (uow, _store):
        again = documents.render_documents(uow, month1.ctx, dupont, month1.tools)
        first_render = documents.render_documents(uow, month1.ctx, partner, month1.tools)
    assert (again.pdf, again.ubl) == (before.pdf, before.ubl)
    assert again.ubl_sha256 == hashlib.sha256(again.ubl).hexdigest()
    assert b"Brussels Voice Partners" in first_render.ubl  # rendered after the rename, frozen before it
    assert b"Voice Renamed" not in first_render.ubl
    assert b"FR40303265045" not in first_render.ubl
    assert b"<cbc:IdentificationCode>BE</cbc:IdentificationCode>" in first_render.ubl


@pytest.mark.rule("BIL-4")
def test_the_migration_freezes_invoices_issued_before_it_as_they_were_that_day(month1: Month1) -> None:
    url = month1.platform.settings.effective_database_url
    command.downgrade(alembic_config(url), "0014-1")  # as before snapshots: invoices without them
    _rename(month1, "Atelier Dupont", "Dupont On Migration Day")
    upgrade(url)
    _rename(month1, "Atelier Dupont", "Dupont After The Migration")
    with month1.uow() as (uow, store):
        snapshot = store.find_snapshot(month1.numbers["Atelier Dupont"])
        stored = documents.render_documents(uow, month1.ctx, month1.numbers["Atelier Dupont"], month1.tools)
    assert snapshot is not None
    assert snapshot.sha256 == hashlib.sha256(snapshot.content.encode()).hexdigest()
    assert b"Dupont On Migration Day" in stored.ubl
    assert b"Dupont After The Migration" not in stored.ubl
