"""SUP-1: the life of a ticket, the only proof of a request: its statuses and the moves between them.

A ticket is new until the desk takes it up; it may wait for the customer, be resolved, and is
closed once the requester accepts the resolution (or the operator closes it). A resolved ticket
reopens (back in progress) when the requester answers that the problem is still there; a closed
one stays closed: a new request is a new ticket.
"""

from __future__ import annotations

from enum import StrEnum

from nuage.errors import InvalidInput


class TicketStatus(StrEnum):
    """SUP-1: where a ticket stands."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_FOR_CUSTOMER})

_NEXT: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {
            TicketStatus.IN_PROGRESS,
            TicketStatus.WAITING_FOR_CUSTOMER,
            TicketStatus.RESOLVED,
            TicketStatus.CLOSED,
        }
    ),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.WAITING_FOR_CUSTOMER, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.WAITING_FOR_CUSTOMER: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

#: SUP-1: what the requester's side may do itself; every other move is the desk's
REQUESTER_MOVES = frozenset({TicketStatus.CLOSED, TicketStatus.IN_PROGRESS})


def check_status_change(current: TicketStatus, wanted: TicketStatus) -> TicketStatus:
    """SUP-1: a ticket moves new → in progress ⇄ waiting → resolved → closed (a resolved one may reopen)."""
    if wanted not in _NEXT[current]:
        allowed = ", ".join(sorted(s.value for s in _NEXT[current])) or "none: it is closed"
        raise InvalidInput(
            "status", f"A ticket that is {current.value} cannot become {wanted.value} (next: {allowed})"
        )
    return wanted


def status_after_reply(current: TicketStatus, *, from_desk: bool) -> TicketStatus:
    """SUP-1: a reply moves the ticket: the desk's first reply takes it up, the requester's answer
    to a waiting or resolved ticket gives it back to the desk."""
    if from_desk and current is TicketStatus.NEW:
        return TicketStatus.IN_PROGRESS
    if not from_desk and current in (TicketStatus.WAITING_FOR_CUSTOMER, TicketStatus.RESOLVED):
        return TicketStatus.IN_PROGRESS
    return current
