"""Which dialled strings the auto-attendant answers, kept in memory (issue #22): ``AttendantIndex``.

Every call a phone places asks the attendant first whether the dialled string is a conference
room's extension or a number an application answers (issue #16). Asking the database each time
cost a transaction in a worker thread per call: under load those threads held the GIL the event
loop needed. The index holds the room extensions of each account and the numbers routed to an
application; it is read whole at start, again every ``refresh_s`` in a worker thread, and when
the SIP directory is read again (``reload``). A string it does not name is answered at once; one it
names is read from the database as before. So a new room, or a number routed to an application,
is answered within ``refresh_s`` of its change, as the SIP directory's own changes are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Engine, select

from nuage.storage.sql import app_tables, tables
from nuage.storage.sql.snapshots import RefreshedSnapshot


@dataclass(frozen=True)
class AttendantIndex:
    """Room extensions by account, and the numbers (E.164) an application answers."""

    rooms: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (account, extension) -> room
    numbers: frozenset[str] = frozenset()


def read_index(engine: Engine) -> AttendantIndex:
    """The index as the database holds it now (one short read)."""
    rooms, applications, numbers = (
        tables.conference_rooms,
        app_tables.number_applications,
        tables.phone_numbers,
    )
    with engine.connect() as connection:
        found = connection.execute(
            select(rooms.c.account_id, rooms.c.extension, rooms.c.id).where(rooms.c.extension.is_not(None))
        ).all()
        routed = connection.execute(
            select(numbers.c.e164).join(applications, applications.c.number_id == numbers.c.id)
        ).scalars()
        return AttendantIndex({(a, e): r for a, e, r in found}, frozenset(routed))


def attendant_index(engine: Engine, *, refresh_s: float = 2.0) -> RefreshedSnapshot[AttendantIndex]:
    """The index, kept current every ``refresh_s`` once started."""
    return RefreshedSnapshot(
        partial(read_index, engine), AttendantIndex(), name="attendant-index", refresh_s=refresh_s
    )
