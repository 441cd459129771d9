"""The demo tenancy over real storage (SQLite and PostgreSQL): loaded whole, read back, loaded again."""

from __future__ import annotations

import pytest

from nuage.bootstrap import Platform
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.views import capacity_of, declaration_audit_of, emergency_readiness_of
from nuage.tenancy.model import Language, PartyKind


@pytest.mark.rule("TEN-1")
@pytest.mark.rule("TEN-2")
def test_the_demo_round_trips_through_storage_and_is_idempotent(platform: Platform) -> None:
    with platform.uow() as uow:
        first = load_demo(uow, platform.clock)
    with platform.uow() as uow:
        second = load_demo(uow, platform.clock)
    assert first.created > 20
    assert second.created == 0
    with platform.uow() as uow:
        kinds = [p.kind for p in uow.parties.list(order_by=("name",))]
        partners = uow.parties.list(kind=PartyKind.PARTNER.value, order_by=("name",))
        customers = {c.name: c for c in uow.parties.list(kind=PartyKind.CUSTOMER.value)}
        alice = uow.devices.find_by(sip_username="alice")
        ctx = Context.operator(first.operator_id, platform.clock)
        dupont = customers["Atelier Dupont"]
        audit = declaration_audit_of(uow, ctx, dupont.id)
        readiness = emergency_readiness_of(uow, ctx, dupont.id)
        capacity = capacity_of(uow, ctx, dupont.id)
        (order,) = uow.orders.list(customer_id=dupont.id)
    assert kinds.count(PartyKind.OPERATOR) == 1
    assert kinds.count(PartyKind.PARTNER) == 2
    assert kinds.count(PartyKind.CUSTOMER) == 3
    assert [p.white_label for p in partners] == [True, False]
    assert partners[0].brand_primary_color == "#0b5394"
    assert dupont.is_direct
    assert customers["Bakkerij Peeters"].language is Language.NL
    assert alice is not None
    assert alice.sip_password == "Alice-Demo-2026"
    assert alice.created_at == platform.clock.now()
    assert alice.created_at.tzinfo is not None
    assert (capacity.billable_users, capacity.channels) == (2, 4)  # Chloé is no-service
    assert [s.rule_id for s in audit.shortfalls] == ["CFG-4"]  # the workshop phone
    assert {f.rule_id for f in readiness.findings} == {"EMG-2", "EMG-3"}
    assert order.terms_version == "2026-01"
    assert order.lines[0].item == "activation"
