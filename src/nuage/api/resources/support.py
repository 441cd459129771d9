"""Hardware and returns (HW-1) and porting out (BIL-7).

``/customers/{id}/hardware`` lists an account's supplied items with their warranty; the operator
records deliveries. ``/hardware/{id}/returns`` reports a defect on a ticket; the operator moves
the return (``/returns/{id}/state``), the carriage charged after the warranty. ``/port-outs``:
request, move and read a number's port-out, billed on completion; ``/port-ins``: a number ported in.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import Id, Input, Output
from nuage.directory.porting import PortDirection, PortRequest, PortState
from nuage.services.support import hardware as hw
from nuage.services.support import porting
from nuage.services.support.ports import HardwareReturn
from nuage.support.hardware import CarriagePayer, ReturnState

HW_READ, HW_CREATE = "support.hardware.read", "support.hardware.create"
RMA_READ, RMA_CREATE, RMA_UPDATE = "support.returns.read", "support.returns.create", "support.returns.update"
PORT_READ, PORT_CREATE, PORT_UPDATE = (
    "directory.ports.read",
    "directory.ports.create",
    "directory.ports.update",
)

router = APIRouter(tags=["support"])


class HardwareOut(Output):
    """HW-1: a supplied item and its warranty today."""

    id: str
    account_id: str
    model: str
    serial: str
    mac: str | None
    device_id: str | None
    delivered_on: date
    warranty_ends: date
    under_warranty: bool


class HardwarePage(Output):
    """HW-1: an account's items."""

    items: list[HardwareOut]


class HardwareBody(Input):
    """HW-1: an item delivered to the customer."""

    model: Annotated[str, Field(min_length=1, max_length=80)]
    serial: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    delivered_on: date
    mac: Annotated[str | None, Field(max_length=17)] = None
    device_id: Id | None = None


class ReturnBody(Input):
    """HW-1: the ticket (SUP-1) the defect is reported on."""

    ticket_id: Id


class ReturnStateBody(Input):
    """HW-1: the return's next step; a replacement names the new serial."""

    state: ReturnState
    replacement_serial: Annotated[str | None, Field(min_length=1, max_length=64)] = None


class ReturnOut(Output):
    """HW-1: a return, its step, and who pays the carriage."""

    id: str
    item_id: str
    account_id: str
    ticket_id: str
    state: ReturnState
    reported_on: date
    payer: CarriagePayer
    carriage: Decimal
    replacement_serial: str | None


class PortBody(Input):
    """BIL-7: the account and its number to port out."""

    account_id: Id
    e164: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{5,14}$")]


class PortStateBody(Input):
    """BIL-7: the port's next state; scheduling needs its date."""

    state: PortState
    port_on: date | None = None


class PortOut(Output):
    """BIL-7: a port request with its state and dates."""

    id: str
    account_id: str
    e164: str
    direction: PortDirection
    state: PortState
    requested_on: date
    port_on: date | None


class PortPage(Output):
    """BIL-7: an account's port requests."""

    items: list[PortOut]


def _hardware(found: hw.Warranty) -> HardwareOut:
    item = found.item
    return HardwareOut.model_validate(
        {**item.__dict__, "warranty_ends": found.ends_on, "under_warranty": found.under_warranty}
    )


def _return(rma: HardwareReturn) -> bytes:
    return ReturnOut.model_validate(rma, from_attributes=True).model_dump_json().encode()


def _port(port: PortRequest) -> PortOut:
    return PortOut.model_validate(port, from_attributes=True)


@router.get(
    "/customers/{id}/hardware",
    response_model=HardwarePage,
    summary="Hardware supplied to a customer",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(HW_READ, "HW-1: each item with its one-year warranty from delivery."),
)
def list_hardware(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(HW_READ)
    out = HardwarePage(items=[_hardware(w) for w in hw.list_items(c.uow, c.ctx, id)])
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/customers/{id}/hardware",
    response_model=HardwareOut,
    status_code=201,
    summary="Record hardware delivered to a customer",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(HW_CREATE, "HW-1: an item delivered (operator); its warranty runs one year from delivery."),
)
def add_hardware(id: ID, body: HardwareBody, c: Call = Depends(call)) -> Response:
    c.require(HW_CREATE)
    item = hw.add_item(
        c.uow,
        c.ctx,
        id,
        model=body.model,
        serial=body.serial,
        delivered_on=body.delivered_on,
        mac=body.mac,
        device_id=body.device_id,
    )
    return write_response(_hardware(hw.warranty_of(c.uow, c.ctx, item.id)).model_dump_json().encode(), 201)


@router.post(
    "/hardware/{id}/returns",
    response_model=ReturnOut,
    status_code=201,
    summary="Report a defective item on a ticket",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(
        RMA_CREATE, "HW-1: a return; the carriage is the operator's under warranty, the customer's after."
    ),
)
def report_defect(id: ID, body: ReturnBody, c: Call = Depends(call)) -> Response:
    c.require(RMA_CREATE)
    return write_response(_return(hw.report_defect(c.uow, c.ctx, id, body.ticket_id)), 201)


@router.get(
    "/returns/{id}",
    response_model=ReturnOut,
    summary="A return",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(RMA_READ, "HW-1: the return's step and who pays the carriage."),
)
def read_return(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(RMA_READ)
    return read_response(request, _return(hw.get_return(c.uow, c.ctx, id)))


@router.post(
    "/returns/{id}/state",
    response_model=ReturnOut,
    summary="Move a return",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(
        RMA_UPDATE,
        "HW-1: authorised, received, repaired or replaced, back in service (operator); "
        "authorising one out of warranty bills the carriage.",
    ),
)
def move_return(id: ID, body: ReturnStateBody, c: Call = Depends(call)) -> Response:
    c.require(RMA_UPDATE)
    return write_response(_return(hw.advance_return(c.uow, c.ctx, id, body.state, body.replacement_serial)))


@router.post(
    "/port-outs",
    response_model=PortOut,
    status_code=201,
    summary="Ask to port a number out",
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("BIL-7")),
    **described(PORT_CREATE, "BIL-7: a port-out of one of the account's numbers, billed per the price list."),
)
def request_port_out(body: PortBody, c: Call = Depends(call)) -> Response:
    c.require(PORT_CREATE)
    port = porting.request_port_out(c.uow, c.ctx, body.account_id, body.e164)
    return write_response(_port(port).model_dump_json().encode(), 201)


@router.get(
    "/customers/{id}/port-outs",
    response_model=PortPage,
    summary="A customer's port requests",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(PORT_READ, "BIL-7: the account's port requests with their states and dates."),
)
def list_ports(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(PORT_READ)
    out = PortPage(items=[_port(p) for p in porting.list_ports(c.uow, c.ctx, id)])
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/port-outs/{id}/state",
    response_model=PortOut,
    summary="Move a port request",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("BIL-7")),
    **described(
        PORT_UPDATE,
        "BIL-7: the operator accepts, schedules, completes or rejects; the account may "
        "cancel. Completion releases the number and bills the fee.",
    ),
)
def move_port(id: ID, body: PortStateBody, c: Call = Depends(call)) -> Response:
    c.require(PORT_UPDATE)
    port = porting.move_port(c.uow, c.ctx, id, body.state, body.port_on)
    return write_response(_port(port).model_dump_json().encode())


@router.post(
    "/port-ins",
    response_model=PortOut,
    status_code=201,
    summary="Ask to port a number in",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("BIL-7")),
    **described(
        PORT_CREATE,
        "CFG-6/BIL-7: another operator's number ported in to the account; protected while it ports, "
        "in service on the account once completed.",
    ),
)
def request_port_in(body: PortBody, c: Call = Depends(call)) -> Response:
    c.require(PORT_CREATE)
    port = porting.request_port_in(c.uow, c.ctx, body.account_id, body.e164)
    return write_response(_port(port).model_dump_json().encode(), 201)


@router.post(
    "/port-ins/{id}/state",
    response_model=PortOut,
    summary="Move a port-in",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("BIL-7")),
    **described(
        PORT_UPDATE,
        "CFG-6/BIL-7: the operator accepts, schedules, completes or rejects; the account may cancel. "
        "Completion on or after the port date puts the number in service on the account.",
    ),
)
def move_port_in(id: ID, body: PortStateBody, c: Call = Depends(call)) -> Response:
    c.require(PORT_UPDATE)
    port = porting.move_port(c.uow, c.ctx, id, body.state, body.port_on)
    return write_response(_port(port).model_dump_json().encode())
