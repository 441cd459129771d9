"""HW-1: one year of warranty from delivery, the steps of a return, who pays the carriage."""

from __future__ import annotations

from datetime import date

import pytest

from nuage.errors import InvalidInput
from nuage.support.hardware import (
    CarriagePayer,
    ReturnState,
    check_return_step,
    return_charge,
    under_warranty,
    warranty_ends,
)


@pytest.mark.rule("HW-1")
def test_the_warranty_runs_one_year_from_delivery() -> None:
    assert warranty_ends(date(2026, 3, 10)) == date(2027, 3, 9)
    assert warranty_ends(date(2028, 2, 29)) == date(2029, 2, 28)  # leap day: anniversary 1 March
    assert under_warranty(date(2026, 3, 10), date(2027, 3, 9))
    assert not under_warranty(date(2026, 3, 10), date(2027, 3, 10))
    assert not under_warranty(date(2026, 3, 10), date(2026, 3, 9))  # reported before delivery


@pytest.mark.rule("HW-1")
def test_carriage_is_the_operators_under_warranty_and_the_customers_after() -> None:
    covered = return_charge(date(2026, 3, 10), date(2026, 12, 1))
    assert (covered.payer, covered.carriage_billed) == (CarriagePayer.OPERATOR, False)
    late = return_charge(date(2025, 3, 10), date(2026, 12, 1))
    assert (late.payer, late.carriage_billed) == (CarriagePayer.CUSTOMER, True)


@pytest.mark.rule("HW-1")
def test_a_return_goes_step_by_step_to_service() -> None:
    state = ReturnState.REPORTED
    for step in (ReturnState.AUTHORISED, ReturnState.RECEIVED, ReturnState.REPLACED):
        state = check_return_step(state, step)
    assert check_return_step(state, ReturnState.BACK_IN_SERVICE) is ReturnState.BACK_IN_SERVICE
    with pytest.raises(InvalidInput, match="cannot become received"):
        check_return_step(ReturnState.REPORTED, ReturnState.RECEIVED)
    with pytest.raises(InvalidInput, match="it is closed"):
        check_return_step(ReturnState.BACK_IN_SERVICE, ReturnState.REPAIRED)
