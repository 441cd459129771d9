"""BIL-7 and CFG-6: a port's states, numbers protected while they port, the port-out fee."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nuage.directory.porting import (
    PortDirection,
    PortRequest,
    PortState,
    advance,
    port_out_line,
    refuse_change_during_port,
)
from nuage.errors import InvalidInput, TermViolation
from nuage.shared.month import Month

OUT = PortRequest("port_1", "cus_1", "+3223000100", PortDirection.OUT, PortState.REQUESTED, date(2026, 3, 2))


@pytest.mark.rule("BIL-7")
def test_a_port_out_is_protected_until_done_then_billed_once_in_its_month() -> None:
    with pytest.raises(TermViolation) as refused:
        refuse_change_during_port("+3223000100", [OUT], "reassigned")
    assert refused.value.rule_id == "BIL-7"
    with pytest.raises(InvalidInput):
        port_out_line(OUT, Decimal("25.00"))  # not completed: nothing to bill
    scheduled = advance(advance(OUT, PortState.ACCEPTED), PortState.SCHEDULED, port_on=date(2026, 3, 16))
    done = advance(scheduled, PortState.COMPLETED)
    refuse_change_during_port("+3223000100", [done], "reassigned")  # completed: no longer protected
    line = port_out_line(done, Decimal("25.00"))
    assert (line.rule_id, line.period, line.amount) == ("BIL-7", Month(2026, 3), Decimal("25.00"))
    with pytest.raises(InvalidInput):
        advance(OUT, PortState.COMPLETED)
    with pytest.raises(InvalidInput):
        advance(advance(OUT, PortState.ACCEPTED), PortState.SCHEDULED, port_on=date(2026, 3, 1))
