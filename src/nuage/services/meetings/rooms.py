"""Web Meeting rooms (MTG-1, BIL-6): order a room, open it once its invoice is paid, join it from a
browser, and the host's controls (participants, mute, remove, lock, close).

* ``order_meeting_room``: an order accepting the terms (TEN-3) and its invoice issued at once
  (BIL-6, ``billing.web_meeting``); the room waits, ``ordered``, for that invoice to be paid;
* ``open_meeting_room``: BIL-6: activation follows payment: the invoice paid in full (the payments
  ledger), the room is placed on a gateway instance (``placement``, sticky), the gateway's video
  room is created there and the room becomes ``active``;
* ``join_meeting``: a visitor with the PIN gets what the browser needs to enter the gateway room;
  a room not paid yet opens at that moment if it has been paid since, else refuses with BIL-6;
* host controls: ``meeting_participants``, ``mute_participant``, ``remove_participant``,
  ``lock_meeting_room`` (a lock also changes the gateway room's key, so nobody enters behind it),
  ``close_meeting_room``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from nuage.billing.web_meeting import invoice_meeting_order
from nuage.directory.meetings import (
    MAX_PUBLISHERS,
    MeetingRoom,
    MeetingStatus,
    check_entry,
    check_meeting_pin,
    check_months,
    require_paid,
)
from nuage.directory.rules import clean_name
from nuage.documents.model import Brand
from nuage.errors import InvalidInput, NotFound, UpstreamUnavailable
from nuage.services.billing.common import BILLING_JOB, billing_party
from nuage.services.billing.contracts import ensure_contract
from nuage.services.billing.issuing import issue_all
from nuage.services.billing.plans import PlanBook
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.meetings.placement import place_room
from nuage.services.meetings.ports import MeetingGateway, MeetingGateways, Participant
from nuage.services.payments.common import party_brand
from nuage.services.payments.payments import current_ledger
from nuage.services.payments.ports import EInvoiceValidator
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer, place_order
from nuage.shared.clock import Clock, business_date
from nuage.shared.ids import new_id
from nuage.shared.money import ZERO
from nuage.tenancy.model import Language, OrderLine
from nuage.tenancy.rules import contracting_party_id


@dataclass(frozen=True, kw_only=True)
class MeetingOrder:
    """TEN-3/BIL-6: what ordering a room records: the terms accepted and the months paid in advance."""

    name: str
    pin: str
    months: int
    terms_version: str
    language: Language
    accepted_by: str
    publishers: int = 12
    hardware: tuple[tuple[str, int], ...] = ()


def order_meeting_room(
    uow: BillingUnitOfWork,
    ctx: Context,
    account_id: str,
    wanted: MeetingOrder,
    *,
    settings: PaymentSettings,
    validator: EInvoiceValidator,
) -> MeetingRoom:
    """BIL-6: order a room: the order (TEN-3) and its invoice, issued at order; the room is ``ordered``
    until that invoice is paid. Commits."""
    customer = get_customer(uow, ctx, account_id)
    check_meeting_pin(wanted.pin)
    check_months(wanted.months)
    if not 1 <= wanted.publishers <= MAX_PUBLISHERS:
        raise InvalidInput(
            "publishers", f"A room has 1 to {MAX_PUBLISHERS} people with camera and microphone"
        )
    today = business_date(ctx.clock.now())
    order = place_order(
        uow,
        ctx,
        customer.id,
        terms_version=wanted.terms_version,
        language=wanted.language,
        accepted_by=wanted.accepted_by,
        service_start_on=today,
        minimum_term_months=wanted.months,
        lines=[
            OrderLine("meeting_room", wanted.months, clean_name(wanted.name)),
            *(OrderLine(f"hardware:{model}", quantity) for model, quantity in wanted.hardware),
        ],
        description="Web Meeting",
    )
    store = uow.billing
    store.lock(BILLING_JOB)
    ensure_contract(uow, ctx, customer)
    party = billing_party(uow.parties.get(contracting_party_id(customer)))
    draft = invoice_meeting_order(
        order.id,
        customer.id,
        today,
        PlanBook(store).for_customer(customer),
        party,
        today,
        months=wanted.months,
        hardware=wanted.hardware,
    )
    (stored,) = issue_all(uow, [draft], "order", ctx.clock.now(), settings, validator)
    room = MeetingRoom(
        id=new_id("meet"),
        account_id=customer.id,
        name=clean_name(wanted.name),
        pin=wanted.pin,
        status=MeetingStatus.ORDERED,
        ordered_at=ctx.clock.now(),
        months=wanted.months,
        order_id=order.id,
        invoice_number=stored.issued.number,
        gateway_room=1 + secrets.randbelow(2**40),
        gateway_secret=secrets.token_urlsafe(24),
        gateway_pin=secrets.token_urlsafe(24),
        publishers=wanted.publishers,
    )
    uow.meeting_rooms.add(room)
    uow.commit()
    return room


def invoice_paid(uow: BillingUnitOfWork, settings: PaymentSettings, number: str) -> bool:
    """PAY-1: whether invoice ``number`` is paid in full (payments, credit notes and account credit)."""
    state = current_ledger(uow, settings).invoices.get(number)
    return state is not None and state.outstanding <= ZERO


def room_gateway(room: MeetingRoom, gateways: MeetingGateways) -> MeetingGateway:
    """MTG-1: the gateway instance a room lives on."""
    return gateways.gateway(room.gateway_instance)


def _activate(
    uow: BillingUnitOfWork,
    clock: Clock,
    room: MeetingRoom,
    gateways: MeetingGateways,
    settings: PaymentSettings,
) -> MeetingRoom:
    """BIL-6: a room whose invoice is paid is placed on a gateway instance, created there and becomes
    active (commits)."""
    if room.status is MeetingStatus.ACTIVE:
        return room
    require_paid(room, paid=invoice_paid(uow, settings, room.invoice_number))
    instance = place_room(uow, room, gateways)
    gateways.gateway(instance).create_room(
        room.gateway_room,
        description=room.name,
        pin=room.gateway_pin,
        secret=room.gateway_secret,
        publishers=room.publishers,
    )
    active = replace(room, status=MeetingStatus.ACTIVE, activated_at=clock.now(), gateway_instance=instance)
    uow.meeting_rooms.update(active)
    uow.commit()
    return active


def open_meeting_room(
    uow: BillingUnitOfWork, ctx: Context, room_id: str, gateways: MeetingGateways, settings: PaymentSettings
) -> MeetingRoom:
    """BIL-6/MTG-1: activation follows payment: open the room once its invoice is paid."""
    room = get_visible(uow.meeting_rooms, ctx, room_id)
    return _activate(uow, ctx.clock, room, gateways, settings)


@dataclass(frozen=True)
class JoinTicket:
    """MTG-1: what a browser needs to enter the room on the gateway, under the account's brand."""

    room_id: str
    name: str
    gateway_room: int
    gateway_pin: str
    brand: Brand
    gateway_url: str  # where the browser reaches the room's gateway instance
    gateway_instance: str | None = None  # that instance's name


def meeting_room_for_visitor(uow: BillingUnitOfWork, room_id: str) -> MeetingRoom:
    """MTG-1: a room as the join page shows it (a closed or unknown room is ``NotFound``)."""
    room = uow.meeting_rooms.find(room_id)
    if room is None or room.status is MeetingStatus.CLOSED:
        raise NotFound("meeting room", room_id)
    return room


def meeting_brand(uow: BillingUnitOfWork, room: MeetingRoom) -> Brand:
    """TEN-2: the brand the join page shows: the partner's for a white-label partner's customer."""
    return party_brand(uow, uow.parties.get(room.account_id))


def join_meeting(
    uow: BillingUnitOfWork,
    clock: Clock,
    room_id: str,
    pin: str,
    gateways: MeetingGateways,
    settings: PaymentSettings,
) -> JoinTicket:
    """MTG-1: a visitor with the room's PIN enters a room that is paid (BIL-6) and not locked."""
    room = meeting_room_for_visitor(uow, room_id)
    check_entry(room, pin)
    room = _activate(uow, clock, room, gateways, settings)
    url = next(
        (found.browser_url for found in gateways.instances() if found.name == room.gateway_instance),
        gateways.instances()[0].browser_url,
    )
    return JoinTicket(room.id, room.name, room.gateway_room, room.gateway_pin, meeting_brand(uow, room), url)


def _active(uow: BillingUnitOfWork, ctx: Context, room_id: str) -> MeetingRoom:
    room = get_visible(uow.meeting_rooms, ctx, room_id)
    require_paid(room, paid=room.status is MeetingStatus.ACTIVE)
    return room


def meeting_participants(
    uow: BillingUnitOfWork, ctx: Context, room_id: str, gateways: MeetingGateways
) -> list[Participant]:
    """MTG-1: who is in the room now (the host's view)."""
    room = _active(uow, ctx, room_id)
    return room_gateway(room, gateways).participants(room.gateway_room)


def mute_participant(
    uow: BillingUnitOfWork,
    ctx: Context,
    room_id: str,
    participant_id: int,
    gateways: MeetingGateways,
    *,
    muted: bool,
) -> None:
    """MTG-1: the host mutes (or unmutes) someone: the others stop hearing them."""
    room = _active(uow, ctx, room_id)
    gateway = room_gateway(room, gateways)
    gateway.mute(room.gateway_room, participant_id, secret=room.gateway_secret, muted=muted)


def remove_participant(
    uow: BillingUnitOfWork, ctx: Context, room_id: str, participant_id: int, gateways: MeetingGateways
) -> None:
    """MTG-1: the host removes someone from the room."""
    room = _active(uow, ctx, room_id)
    room_gateway(room, gateways).kick(room.gateway_room, participant_id, secret=room.gateway_secret)


def lock_meeting_room(
    uow: BillingUnitOfWork, ctx: Context, room_id: str, gateways: MeetingGateways, *, locked: bool
) -> MeetingRoom:
    """MTG-1: the host locks the room: nobody else joins; its gateway key changes, so a key handed out
    before the lock no longer enters. Unlocking lets people with the PIN in again. Commits."""
    room = _active(uow, ctx, room_id)
    changed = replace(
        room, locked=locked, gateway_pin=secrets.token_urlsafe(24) if locked else room.gateway_pin
    )
    room_gateway(room, gateways).set_pin(
        room.gateway_room, secret=room.gateway_secret, pin=changed.gateway_pin
    )
    uow.meeting_rooms.update(changed)
    uow.commit()
    return changed


def close_meeting_room(
    uow: BillingUnitOfWork, ctx: Context, room_id: str, gateways: MeetingGateways | None
) -> MeetingRoom:
    """MTG-1: close a room: everyone is disconnected and nobody joins again (a room never opened
    needs no gateway). Commits."""
    room = get_visible(uow.meeting_rooms, ctx, room_id)
    if room.status is MeetingStatus.ACTIVE:
        if gateways is None:
            raise UpstreamUnavailable("janus", "Web Meeting is not configured: set [janus] url")
        room_gateway(room, gateways).destroy_room(room.gateway_room, secret=room.gateway_secret)
    closed = replace(room, status=MeetingStatus.CLOSED)
    uow.meeting_rooms.update(closed)
    uow.commit()
    return closed
