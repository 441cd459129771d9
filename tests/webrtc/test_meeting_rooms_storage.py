"""Meeting rooms on both databases and in memory (MTG-1, BIL-6): ordered with their invoice, kept,
opened once paid, locked and closed through the use cases, on the test's Janus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nuage.adapters.janus_pool import JanusPool
from nuage.bootstrap import Platform
from nuage.directory.meetings import MeetingStatus
from nuage.errors import TermViolation
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.einvoicing import PaymentSettings
from nuage.services.meetings import rooms as m
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import FrozenClock
from nuage.storage.memory.unit_of_work import MemoryUnitOfWorkFactory
from nuage.tenancy.model import Language, PartyKind
from webrtc.test_meeting_rooms_api import pay_with

WANTED = m.MeetingOrder(
    name="Board", pin="1357", months=3, terms_version="2026-01", language=Language("fr"), accepted_by="Jan"
)


def _round_trip(
    make: Callable[[], Any], clock: FrozenClock, gateway: JanusPool, validator: EInvoiceValidator
) -> None:
    settings = PaymentSettings()
    with make() as uow:
        load_demo(uow, clock, getattr(uow, "access", None))
    with make() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        customer = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        ctx = Context.operator(operator.id, clock)
        room = m.order_meeting_room(uow, ctx, customer.id, WANTED, settings=settings, validator=validator)
    with make() as uow:
        stored = uow.meeting_rooms.get(room.id)
        assert stored == room
        assert stored.status is MeetingStatus.ORDERED
        assert uow.billing.find_invoice(room.invoice_number) is not None
        with pytest.raises(TermViolation) as refused:
            m.open_meeting_room(uow, ctx, room.id, gateway, settings)
        assert refused.value.rule_id == "BIL-6"
    pay_with(make, clock, room.invoice_number)
    with make() as uow:
        opened = m.open_meeting_room(uow, ctx, room.id, gateway, settings)
        assert opened.status is MeetingStatus.ACTIVE
        assert opened.gateway_instance == "default"  # placed on the only instance, and kept
        locked = m.lock_meeting_room(uow, ctx, room.id, gateway, locked=True)
        assert locked.gateway_pin != opened.gateway_pin
    with make() as uow:
        assert uow.meeting_rooms.get(room.id).locked
        assert uow.meeting_rooms.list(account_id=customer.id, status=MeetingStatus.ACTIVE.value) == [locked]
        closed = m.close_meeting_room(uow, ctx, room.id, gateway)
        assert closed.status is MeetingStatus.CLOSED
    assert gateway.gateway("default").participants(room.gateway_room) == []


@pytest.mark.rule("BIL-6")
def test_rooms_round_trip_on_the_databases(
    platform: Platform, gateways: JanusPool, einvoice_validator: EInvoiceValidator
) -> None:
    _round_trip(platform.uow, platform.clock, gateways, einvoice_validator)


@pytest.mark.rule("BIL-6")
def test_rooms_round_trip_in_memory(
    clock: FrozenClock, gateways: JanusPool, einvoice_validator: EInvoiceValidator
) -> None:
    _round_trip(MemoryUnitOfWorkFactory(), clock, gateways, einvoice_validator)
