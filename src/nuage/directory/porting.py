"""BIL-7 and CFG-6: porting numbers in and out, and what a port protects.

A port request moves through its states with dates; while a number is in a port (requested,
accepted, scheduled) it cannot be assigned elsewhere or removed; a port-out releases the number on
its port date and is billed per the price list (BIL-7), once, on the invoice after that date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.errors import InvalidInput, TermViolation
from nuage.shared.month import Month


class PortDirection(StrEnum):
    """CFG-6: a number comes to the platform (in) or leaves it for another operator (out)."""

    IN = "in"
    OUT = "out"


class PortState(StrEnum):
    """CFG-6: the life of a port request."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"  # the other operator agreed
    SCHEDULED = "scheduled"  # a port date is set
    COMPLETED = "completed"  # the number moved on the port date
    REJECTED = "rejected"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset({PortState.REQUESTED, PortState.ACCEPTED, PortState.SCHEDULED})

_NEXT: dict[PortState, frozenset[PortState]] = {
    PortState.REQUESTED: frozenset({PortState.ACCEPTED, PortState.REJECTED, PortState.CANCELLED}),
    PortState.ACCEPTED: frozenset({PortState.SCHEDULED, PortState.CANCELLED}),
    PortState.SCHEDULED: frozenset({PortState.COMPLETED, PortState.SCHEDULED, PortState.CANCELLED}),
    PortState.COMPLETED: frozenset(),
    PortState.REJECTED: frozenset(),
    PortState.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class PortRequest:
    """CFG-6/BIL-7: one number's port, in or out, with its state and dates."""

    id: str
    account_id: str
    e164: str
    direction: PortDirection
    state: PortState
    requested_on: date
    port_on: date | None = None  # set when scheduled


def advance(request: PortRequest, state: PortState, *, port_on: date | None = None) -> PortRequest:
    """CFG-6: move a port to its next state; scheduling needs a port date not before the request."""
    if state not in _NEXT[request.state]:
        raise InvalidInput("state", f"A port that is {request.state.value} cannot become {state.value}")
    if state is PortState.SCHEDULED:
        if port_on is None or port_on < request.requested_on:
            raise InvalidInput("port_on", "A scheduled port needs a port date on or after its request")
        return PortRequest(**{**request.__dict__, "state": state, "port_on": port_on})
    if state is PortState.COMPLETED and request.port_on is None:
        raise InvalidInput("port_on", "A port completes on its scheduled date")
    return PortRequest(**{**request.__dict__, "state": state})


def refuse_change_during_port(e164: str, ports: list[PortRequest], action: str) -> None:
    """BIL-7: a number in an open port is protected: it is neither reassigned nor removed."""
    for port in ports:
        if port.e164 == e164 and port.state in OPEN_STATES:
            raise TermViolation(
                "BIL-7",
                f"{e164} is being ported {port.direction.value} ({port.state.value}): it cannot be {action}",
                number=e164,
                port_id=port.id,
            )


def released_on(port: PortRequest) -> date | None:
    """BIL-7: the day a ported-out number leaves the account (its port date, once completed)."""
    if port.direction is PortDirection.OUT and port.state is PortState.COMPLETED:
        return port.port_on
    return None


def port_out_line(port: PortRequest, price: Decimal) -> InvoiceLine:
    """BIL-7: the port-out fee of the price list, billed once for a completed port-out."""
    release = released_on(port)
    if release is None:
        raise InvalidInput("port", "Only a completed port-out is billed")
    return make_line(
        rule_id="BIL-7",
        description_key="port_out",
        customer_id=port.account_id,
        item_kind="port_out",
        period=Month.of(release),
        quantity=Decimal(1),
        unit_price=price,
        sources=(SourceRef("port", port.id), SourceRef("number", port.e164)),
        params={"number": port.e164},
    )
