"""BIL-7: a number in an open port (requested, accepted, scheduled) is protected: the directory asks
here before it reassigns or removes a number (``directory.porting.refuse_change_during_port``)."""

from __future__ import annotations

from nuage.directory.porting import OPEN_STATES, refuse_change_during_port
from nuage.services.ports import UnitOfWork
from nuage.services.support.ports import SupportStore


def refuse_change_while_porting(uow: UnitOfWork, e164: str, action: str) -> None:
    """BIL-7: refuse to ``action`` a number that is being ported (a unit of work without support
    records, such as the in-memory one of the directory's unit tests, has no ports)."""
    support: SupportStore | None = getattr(uow, "support", None)
    if support is None:
        return
    ports = support.ports.list(e164=e164, state=sorted(s.value for s in OPEN_STATES), order_by=("id",))
    refuse_change_during_port(e164, ports, action)
