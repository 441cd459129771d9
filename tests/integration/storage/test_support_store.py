"""The support records come back as written on SQLite and PostgreSQL: tickets and their history,
interventions with materials (exact decimals), hardware, returns and Telavox activations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nuage.bootstrap import Platform
from nuage.services import tenancy as t
from nuage.services.context import Context
from nuage.services.support import hardware, interventions, tickets, ucaas
from nuage.support.hardware import CarriagePayer
from nuage.support.interventions import InterventionReason
from nuage.support.tickets import Category, Criticality
from nuage.tenancy.model import Language


@pytest.mark.rule("SUP-1")
@pytest.mark.rule("BIL-5")
@pytest.mark.rule("HW-1")
def test_support_records_round_trip(platform: Platform) -> None:
    with platform.uow() as uow:
        op = t.create_operator(uow, Context.operator("-", platform.clock), "Operator")
        ctx = Context.operator(op.id, platform.clock)
        customer = t.create_customer(uow, ctx, "Dupont", language=Language.NL)
        uow.commit()
    today = platform.clock.now().date()
    with platform.uow() as uow:
        ticket = tickets.open_ticket(
            uow, ctx, customer.id, Category.HARDWARE, Criticality.HIGH, "Phone", "It is dead"
        )
        work = interventions.record_intervention(
            uow,
            ctx,
            ticket.id,
            reason=InterventionReason.OUTSIDE_INSTALLER_SCOPE,
            performed_on=today,
            minutes=31,
            materials=(("Cable", Decimal("12.3456")), ("PSU", Decimal("19.99"))),
        )
        item = hardware.add_item(
            uow,
            ctx,
            customer.id,
            model="T54W",
            serial="SN-1",
            delivered_on=date(2024, 1, 1),
            mac="AA:BB:CC:DD:EE:FF",
        )
        rma = hardware.report_defect(uow, ctx, item.id, ticket.id)
        activation = ucaas.activate(uow, ctx, customer.id, "tvx-user", 4)
    with platform.uow() as uow:
        assert uow.support.tickets.get(ticket.id) == ticket
        assert uow.support.interventions.get(work.id) == work
        assert uow.support.interventions.get(work.id).materials[0] == ("Cable", Decimal("12.3456"))
        assert uow.support.hardware.get(item.id).mac == "aa:bb:cc:dd:ee:ff"
        stored = uow.support.returns.get(rma.id)
        assert stored == rma
        assert (stored.payer, stored.carriage) == (CarriagePayer.CUSTOMER, Decimal("15.00"))
        assert uow.support.activations.get(activation.id) == activation
        events = tickets.history(uow, ctx, ticket.id)
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert [e.kind.value for e in events] == ["opened", "message", "intervention", "return"]
        assert "support" in events[1].body  # the opening notice, in Dutch
        assert uow.support.charges.get(f"intervention:{work.id}").charge_id > 0
