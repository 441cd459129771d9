"""SUP-1: the moves of a ticket's status, and what a reply does to it."""

from __future__ import annotations

import pytest

from nuage.errors import InvalidInput
from nuage.support.status import TicketStatus, check_status_change, status_after_reply

S = TicketStatus


@pytest.mark.rule("SUP-1")
@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.NEW, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.WAITING_FOR_CUSTOMER),
        (S.WAITING_FOR_CUSTOMER, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.RESOLVED),
        (S.RESOLVED, S.IN_PROGRESS),  # reopened: the problem is still there
        (S.RESOLVED, S.CLOSED),
    ],
)
def test_a_ticket_moves_forward_and_a_resolved_one_reopens(current: S, wanted: S) -> None:
    assert check_status_change(current, wanted) is wanted


@pytest.mark.rule("SUP-1")
@pytest.mark.parametrize(
    ("current", "wanted"), [(S.CLOSED, S.IN_PROGRESS), (S.RESOLVED, S.NEW), (S.NEW, S.NEW)]
)
def test_a_closed_ticket_stays_closed_and_nothing_goes_back_to_new(current: S, wanted: S) -> None:
    with pytest.raises(InvalidInput, match="cannot become"):
        check_status_change(current, wanted)


@pytest.mark.rule("SUP-1")
def test_replies_take_a_ticket_up_or_give_it_back_to_the_desk() -> None:
    assert status_after_reply(S.NEW, from_desk=True) is S.IN_PROGRESS
    assert status_after_reply(S.NEW, from_desk=False) is S.NEW
    assert status_after_reply(S.WAITING_FOR_CUSTOMER, from_desk=False) is S.IN_PROGRESS
    assert status_after_reply(S.RESOLVED, from_desk=False) is S.IN_PROGRESS
    assert status_after_reply(S.WAITING_FOR_CUSTOMER, from_desk=True) is S.WAITING_FOR_CUSTOMER
