"""HW-1: hardware the operator supplies: its one-year warranty, returns, and who pays the carriage.

A device's warranty runs one year from its delivery: through the day before the delivery's
anniversary (a delivery on 29 February: through 28 February, the anniversary being 1 March).
A defective device is returned under a return authorisation (RMA), repaired or replaced, and put
back in service; the carriage is the operator's under warranty and the customer's after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from nuage.errors import InvalidInput


def warranty_ends(delivered_on: date) -> date:
    """HW-1: the last day of the one-year warranty of a device delivered on ``delivered_on``."""
    try:
        anniversary = delivered_on.replace(year=delivered_on.year + 1)
    except ValueError:  # 29 February: no such day next year, the anniversary is 1 March
        anniversary = date(delivered_on.year + 1, 3, 1)
    return date.fromordinal(anniversary.toordinal() - 1)


def under_warranty(delivered_on: date, reported_on: date) -> bool:
    """HW-1: whether a defect reported on ``reported_on`` is covered (from delivery, one year)."""
    return delivered_on <= reported_on <= warranty_ends(delivered_on)


class CarriagePayer(StrEnum):
    """HW-1: who pays the carriage of a return."""

    OPERATOR = "operator"
    CUSTOMER = "customer"


def carriage_payer(delivered_on: date, reported_on: date) -> CarriagePayer:
    """HW-1: the operator under warranty, the customer after it."""
    covered = under_warranty(delivered_on, reported_on)
    return CarriagePayer.OPERATOR if covered else CarriagePayer.CUSTOMER


class ReturnState(StrEnum):
    """HW-1: the life of a return authorisation (RMA)."""

    REPORTED = "reported"  # a defect reported on a ticket (SUP-1)
    AUTHORISED = "authorised"  # the operator gave the return authorisation
    RECEIVED = "received"  # the device is back with the operator
    REPAIRED = "repaired"
    REPLACED = "replaced"  # another device (serial) took its place
    BACK_IN_SERVICE = "back_in_service"
    REFUSED = "refused"  # no defect found, or not the operator's hardware


_NEXT: dict[ReturnState, frozenset[ReturnState]] = {
    ReturnState.REPORTED: frozenset({ReturnState.AUTHORISED, ReturnState.REFUSED}),
    ReturnState.AUTHORISED: frozenset({ReturnState.RECEIVED}),
    ReturnState.RECEIVED: frozenset({ReturnState.REPAIRED, ReturnState.REPLACED, ReturnState.REFUSED}),
    ReturnState.REPAIRED: frozenset({ReturnState.BACK_IN_SERVICE}),
    ReturnState.REPLACED: frozenset({ReturnState.BACK_IN_SERVICE}),
    ReturnState.BACK_IN_SERVICE: frozenset(),
    ReturnState.REFUSED: frozenset(),
}


def check_return_step(current: ReturnState, next_state: ReturnState) -> ReturnState:
    """HW-1: a return moves report → authorisation → receipt → repair or replacement → service."""
    if next_state not in _NEXT[current]:
        allowed = ", ".join(sorted(state.value for state in _NEXT[current])) or "none: it is closed"
        raise InvalidInput(
            "state", f"A return that is {current.value} cannot become {next_state.value} (next: {allowed})"
        )
    return next_state


@dataclass(frozen=True)
class ReturnCharge:
    """HW-1: what a return costs the customer: nothing under warranty, the carriage after it."""

    payer: CarriagePayer
    carriage_billed: bool  # a line citing HW-1 goes on the customer's next invoice


def return_charge(delivered_on: date, reported_on: date) -> ReturnCharge:
    """HW-1: whether the carriage of a return is billed to the customer."""
    payer = carriage_payer(delivered_on, reported_on)
    return ReturnCharge(payer, carriage_billed=payer is CarriagePayer.CUSTOMER)
