"""The demo's browser side (issue #18), loaded by ``nuage demo --webrtc`` (idempotent): Atelier
Dupont's Web Meeting room, ordered and its subscription invoice paid (BIL-6: so it opens), and its
click-to-call widget (CFG-10) for the demo shop page the web server shows at ``/demo/shop``, whose
calls go to Bob's number. Kept apart from ``load_demo``: the room's order invoice and the widget's
billed channels would change the demo's invoices its billing scenarios know.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from nuage.directory.meetings import MeetingRoom
from nuage.directory.model import WebChannel
from nuage.directory.widget import origin_of
from nuage.errors import InvalidInput
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.services.directory.media import add_web_channel
from nuage.services.einvoicing import PaymentSettings
from nuage.services.meetings.rooms import MeetingOrder, invoice_paid, order_meeting_room
from nuage.services.payments.payments import record_payment
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import business_date
from nuage.tenancy.model import Language, PartyKind

CUSTOMER = "Atelier Dupont"
ROOM_NAME = "Demo meeting room"
ROOM_PIN = "2468"
SHOP_NAME = "Demo shop"
SHOP_NUMBER = "+3223000101"  # the shop widget's destination: Bob's number
SHOP_PATH = "/demo/shop"
DEFAULT_ORIGIN = "http://127.0.0.1:8080"  # ``nuage serve``'s default web address
PHONE_LOGIN = ("alice@dupont.example", "Alice-Portal-2026")  # the browser phone: calls Bob, 212
PHONE_CALLS = "212"


@dataclass(frozen=True)
class WebRtcDemo:
    """What the browser side of the demo is, for printing and for ``/demo/shop``."""

    room_id: str
    room_pin: str
    widget_id: str
    widget_origin: str | None
    created: int = 0


def _operator(uow: BillingUnitOfWork, ctx: Context) -> Context:
    operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
    if operator is None:
        raise InvalidInput("demo", "Load the demo tenancy first (nuage demo)")
    return Context.operator(operator.id, ctx.clock)


def _pay(uow: BillingUnitOfWork, ctx: Context, number: str) -> None:
    """PAY-1: the demo customer pays the room's invoice in full, recorded as the operator would."""
    invoice = uow.billing.find_invoice(number)
    assert invoice is not None, number
    headers, _ = uow.billing.list_invoices(party_ids=None, period=None, limit=10**6, offset=0)
    gross = next(header.gross for header in headers if header.number == number)
    record_payment(
        uow,
        ctx,
        party_id=invoice.issued.draft.invoiced_party_id,
        amount=abs(gross).quantize(Decimal("0.01")),
        received_on=business_date(ctx.clock.now()),
        invoice_number=number,
        note="demo: the meeting room's subscription, paid in advance (BIL-6)",
    )
    uow.commit()


def load_webrtc_demo(
    uow: BillingUnitOfWork,
    ctx: Context,
    *,
    settings: PaymentSettings,
    validator: EInvoiceValidator,
    origin: str = DEFAULT_ORIGIN,
) -> WebRtcDemo:
    """MTG-1/BIL-6/CFG-10: the demo's paid meeting room and its shop widget (once each). ``ctx``
    gives the clock; the operator orders, records the payment and configures the widget."""
    operator = _operator(uow, ctx)
    dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name=CUSTOMER)
    if dupont is None:
        raise InvalidInput("demo", "Load the demo tenancy first (nuage demo)")
    created = 0
    room = uow.meeting_rooms.find_by(account_id=dupont.id, name=ROOM_NAME)
    if room is None:
        order = MeetingOrder(
            name=ROOM_NAME,
            pin=ROOM_PIN,
            months=12,
            terms_version="2026-01",
            language=Language.FR,
            accepted_by="Alice Dupont",
        )
        room = order_meeting_room(uow, operator, dupont.id, order, settings=settings, validator=validator)
        created += 1
    if not invoice_paid(uow, settings, room.invoice_number):
        _pay(uow, operator, room.invoice_number)
        created += 1
    widget = uow.web_channels.find_by(account_id=dupont.id, name=SHOP_NAME)
    if widget is None:
        number = uow.numbers.find_by(e164=SHOP_NUMBER)
        widget = add_web_channel(
            uow,
            operator,
            dupont.id,
            SHOP_NAME,
            channels=2,
            allowed_origin=origin,
            target_number_id=number.id if number is not None else None,
        )
        uow.commit()
        created += 1
    return _summary(room, widget, created)


def _summary(room: MeetingRoom, widget: WebChannel, created: int = 0) -> WebRtcDemo:
    return WebRtcDemo(room.id, room.pin, widget.id, widget.allowed_origin, created)


def find_webrtc_demo(uow: BillingUnitOfWork) -> WebRtcDemo | None:
    """The demo's room and shop widget, when ``nuage demo --webrtc`` loaded them."""
    dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name=CUSTOMER)
    if dupont is None:
        return None
    room = uow.meeting_rooms.find_by(account_id=dupont.id, name=ROOM_NAME)
    widget = uow.web_channels.find_by(account_id=dupont.id, name=SHOP_NAME)
    if room is None or widget is None:
        return None
    return _summary(room, widget)


def point_shop_at(uow: BillingUnitOfWork, demo: WebRtcDemo, origin: str) -> WebRtcDemo:
    """CFG-10: the demo shop page is served by Nuage's own web server, so its widget's allowed origin
    is that server's address, wherever ``nuage serve`` listens this time (commits when it moved)."""
    wanted = origin_of(origin)
    if wanted is None or origin_of(demo.widget_origin or "") == wanted:
        return demo
    widget = uow.web_channels.get(demo.widget_id)
    uow.web_channels.update(replace(widget, allowed_origin=wanted))
    uow.commit()
    return replace(demo, widget_origin=wanted)
