"""Received faxes (CFG-7): recorded for the virtual fax's account, listed and found within the
caller's tenancy only (TEN-4), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from nuage.directory.fax import FaxStatus, ReceivedFax, fax_status
from nuage.errors import NotFound
from nuage.services import fax as faxes
from nuage.services import tenancy as t
from nuage.services.context import Context
from nuage.services.directory.media import add_virtual_fax
from nuage.services.directory.numbers import add_number
from nuage.shared.clock import FrozenClock
from platforms import MemoryPlatform


@pytest.mark.rule("CFG-7")
def test_a_received_fax_is_kept_listed_and_seen_by_its_tenant_only(
    uow_factory: Any, clock: FrozenClock
) -> None:
    platform = MemoryPlatform(uow_factory, clock)
    with platform.uow() as uow:
        op = t.create_operator(uow, Context.operator("-", platform.clock), "Operator")
        ctx = Context.operator(op.id, platform.clock)
        account = t.create_customer(uow, ctx, "Cabinet Claes").id
        other = t.create_customer(uow, ctx, "Garage Janssens").id
        number = add_number(uow, ctx, account, "+3223000120")
        virtual = add_virtual_fax(uow, ctx, account, number.id, "fax@example.com")
        now = platform.clock.now()
        partial = ReceivedFax(
            "rfx-1", virtual.id, account, now, FaxStatus.PARTIAL, 1, "The call dropped\x00 prematurely",
            sender="+32 2 555 01 00" + "x" * 100, caller="+3225550100", size_bytes=5000,
        )  # fmt: skip
        stored, fax_of = faxes.record_fax(uow, partial)
        with pytest.raises(NotFound):  # a fax of another account
            faxes.record_fax(uow, ReceivedFax("rfx-2", virtual.id, other, now, FaxStatus.FAILED, 0, "x"))
        uow.commit()
    assert fax_of.email == "fax@example.com"
    assert stored.reason == "The call dropped prematurely"
    assert len(stored.sender) == 64
    with platform.uow() as uow:
        (listed,) = faxes.list_received(uow, ctx, virtual.id)
        assert listed == stored
        assert listed.status is FaxStatus.PARTIAL
        faxes.mark_emailed(uow, stored.id, now)
        uow.commit()
    with platform.uow() as uow:
        assert faxes.get_received(uow, ctx, stored.id).emailed_at == now
        outsider = Context(t.scope_of(uow, other), platform.clock)
        with pytest.raises(NotFound):
            faxes.get_received(uow, outsider, stored.id)
        with pytest.raises(NotFound):
            faxes.list_received(uow, outsider, virtual.id)


@pytest.mark.rule("CFG-7")
def test_a_fax_is_received_partial_or_failed() -> None:
    assert fax_status(True, 2) is FaxStatus.RECEIVED
    assert fax_status(False, 1) is FaxStatus.PARTIAL
    assert fax_status(False, 0) is FaxStatus.FAILED
    assert fax_status(True, 0) is FaxStatus.FAILED
