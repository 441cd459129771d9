"""Issue #22: the index of what the auto-attendant answers, read from the database, and the
directory's answers from it (phones' calls) or from the database (calls from outside)."""

from __future__ import annotations

from pathlib import Path

from nuage.adapters.attendant_plane import UowAttendantDirectory
from nuage.bootstrap import Platform
from nuage.directory.destinations import Destination, DestinationKind
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.directory import applications as a
from nuage.services.directory import conferences as c
from nuage.services.directory.numbers import add_number
from nuage.storage.sql.attendant_index import attendant_index, read_index
from nuage.tenancy.model import PartyKind


def _dupont(platform: Platform) -> tuple[Context, str]:
    with platform.uow() as uow:
        summary = load_demo(uow, platform.clock)
        uow.commit()
    with platform.uow() as uow:
        customers = {p.name: p.id for p in uow.parties.list(kind=PartyKind.CUSTOMER.value)}
    return Context.operator(summary.operator_id, platform.clock), customers["Atelier Dupont"]


async def test_rooms_and_routed_numbers_are_indexed_and_answered_from_the_index(
    platform: Platform, tmp_path: Path
) -> None:
    ctx, dupont = _dupont(platform)
    directory = UowAttendantDirectory(platform.uow, platform.clock, tmp_path)
    directory.index = attendant_index(platform.engine, refresh_s=3600)
    await directory.index.start()
    try:
        assert await directory.answering(dupont, "851") is None  # no room yet: answered from memory
        with platform.uow() as uow:
            room = c.add_conference_room(uow, ctx, dupont, "Board", extension="851")
            menu = a.add_menu(uow, ctx, dupont, a.MenuChanges(name="Main", options={"0": "hangup"}))
            number = add_number(uow, ctx, dupont, "+3223000191")
            a.route_number(uow, ctx, number.id, f"menu:{menu.id}")
            uow.commit()
        index = read_index(platform.engine)
        assert index.rooms[(dupont, "851")] == room.id
        assert "+3223000191" in index.numbers
        # a call from outside asks the database at once; a phone's call the index, read again
        outside = await directory.answering(None, "+3223000191")
        assert outside is not None
        assert outside.destination == Destination(DestinationKind.MENU, menu.id)
        assert await directory.answering(dupont, "851") is None  # the index not read again yet
        await directory.index.reload()
        found = await directory.answering(dupont, "851")
        assert found is not None
        assert found.destination == Destination(DestinationKind.CONFERENCE, room.id)
        routed = await directory.answering(dupont, "+3223000191")  # named by the index: read in full
        assert routed is not None
        assert routed.destination == Destination(DestinationKind.MENU, menu.id)
        assert await directory.answering(dupont, "212") is None  # a user's extension: not the attendant's
    finally:
        await directory.index.stop()
