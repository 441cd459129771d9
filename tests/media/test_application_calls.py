"""Calls answered by media applications under the call rules (issue #16), on the wired SIP plane:

- an application's call is journaled while it lasts (a node that dies does not lose it) and is cut
  at the server's maximum application duration: BYE to the caller, the CDR saying why;
- a customer's PBX trunk reaching a menu is an internal call of its account, under the policy:
  CAP-3 holds a channel, and once the account is suspended PAY-3 refuses it (emergency calls only);
- a carrier's call to a suspended account's virtual fax is refused the same way (PAY-3).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from media.peers import Peer, rms
from media.test_attendant_from_carrier import (
    CALLER,
    OutsideCaller,
    cdrs,
    dupont,
    in_use,
    outside,
    outside_plane,
    participants,
    prompts_dir,
)
from nuage.bootstrap import Platform
from nuage.directory.model import TrunkAuth
from nuage.services.context import Context
from nuage.services.demo_applications import DEMO_ATTENDANT, ROOM_PIN
from nuage.services.directory import applications as a
from nuage.services.directory.media import add_virtual_fax
from nuage.services.directory.numbers import add_number
from nuage.services.directory.trunks import add_trunk
from nuage.sip.b2bua.controller import APPLICATION_TOO_LONG
from nuage.storage.sql import journal_tables
from nuage.tenancy.model import PartyStatus
from sip.harness import RawUdpPhone
from waiting import wait_for_condition

__all__ = ["outside", "prompts_dir"]  # the fixtures this module uses

LIMIT_S = 10  # the smallest maximum the settings allow


@pytest.fixture
async def short(platform: Platform, prompts_dir: Path) -> AsyncIterator[tuple[Platform, int, OutsideCaller]]:
    async with outside_plane(platform, prompts_dir, max_application_duration_s=LIMIT_S) as plane:
        yield plane


def journaled(platform: Platform, call_id: str) -> list[dict[str, object]]:
    journal = journal_tables.call_journal
    with platform.engine.connect() as connection:
        query = select(journal).where(journal.c.call_id == call_id)
        return [dict(r) for r in connection.execute(query).mappings()]


async def reload(platform: Platform) -> None:
    assert platform.sip is not None
    await platform.sip.directory.reload()
    await platform.sip.policy_state.reload()


def suspend(platform: Platform, account_id: str) -> None:
    with platform.uow() as uow:
        party = uow.parties.get(account_id)
        uow.parties.update(replace(party, status=PartyStatus.SUSPENDED))
        uow.commit()


async def test_an_application_call_is_journaled_and_hung_up_at_its_maximum_duration(
    short: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = short
    assert (await caller.call(port, DEMO_ATTENDANT)).status == 200
    await caller.rtp.send_tone(caller.engine_port, 300, 100)
    await wait_for_condition(lambda: rms(caller.rtp.audio()) > 300, timeout=30, what="the menu's prompt")
    await caller.rtp.send_digit(caller.engine_port, "1")  # the weekly meeting room: nothing ends it
    for key in ROOM_PIN + "#":
        await caller.rtp.send_digit(caller.engine_port, key)
    await wait_for_condition(lambda: bool(journaled(platform, caller.call_id)), timeout=30, what="journaled")
    (entry,) = journaled(platform, caller.call_id)
    assert (entry["account_id"], entry["direction"]) == (dupont(platform), "inbound")
    assert entry["answered_at"] is not None
    await caller.bye_from_server(port, timeout=LIMIT_S + 20)  # the server's BYE at the limit
    await wait_for_condition(lambda: not participants(platform), timeout=30, what="out of the room")
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
    (cdr,) = await cdrs(platform)
    assert (cdr["outcome"], cdr["disposition"]) == ("answered", APPLICATION_TOO_LONG)
    assert LIMIT_S <= cdr["billable_seconds"] <= LIMIT_S + 1
    await wait_for_condition(lambda: not journaled(platform, caller.call_id), timeout=30, what="unjournaled")


@pytest.mark.rule("PAY-3")
@pytest.mark.rule("CAP-3")
@pytest.mark.rule("SIP-3")
async def test_a_pbx_trunk_reaches_a_menu_under_the_policy_and_not_once_suspended(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, _ = outside
    account = dupont(platform)
    pbx_sip = RawUdpPhone()
    pbx = OutsideCaller(pbx_sip, await Peer.start())  # the PBX's calls: IP-authenticated, no digest
    try:
        with platform.uow() as uow:
            ctx = Context.operator(account, platform.clock)
            trunk = add_trunk(
                uow, ctx, account, "Office PBX", TrunkAuth.IP, allowed_ips=f"127.0.0.1:{pbx_sip.port}"
            )
            menu = a.add_menu(uow, ctx, account, a.MenuChanges(name="Staff", options={"0": "hangup"}))
            number = add_number(uow, ctx, account, "+3223000162")
            a.route_number(uow, ctx, number.id, f"menu:{menu.id}")
            uow.commit()
        await reload(platform)
        assert (await pbx.call(port, "+3223000162")).status == 200
        await pbx.rtp.send_tone(pbx.engine_port, 300, 100)
        await wait_for_condition(lambda: rms(pbx.rtp.audio()) > 300, timeout=30, what="the menu's prompt")
        assert in_use(platform) == 1  # CAP-3: the PBX's call holds one of the account's channels
        await pbx.hang_up(port)
        await wait_for_condition(lambda: in_use(platform) == 0, what="released")

        suspend(platform, account)
        await reload(platform)
        refused = await OutsideCaller(pbx_sip, pbx.rtp).call(port, "+3223000162")
        assert refused.status == 403
        assert '"PAY-3 ' in (refused.headers.get("warning") or "")
    finally:
        pbx_sip.close()
        pbx.rtp.close()
    rows = sorted(
        (r["direction"], r["outcome"], r["refusal_rule"], r["trunk_id"], r["callee"])
        for r in await cdrs(platform)
    )
    assert rows == [
        ("internal", "answered", None, trunk.id, "+3223000162"),
        ("internal", "refused", "PAY-3", trunk.id, "+3223000162"),
    ]
    assert in_use(platform) == 0


@pytest.mark.rule("PAY-3")
@pytest.mark.rule("CFG-7")
async def test_a_carrier_call_to_a_suspended_accounts_virtual_fax_is_refused(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    account = dupont(platform)
    with platform.uow() as uow:
        ctx = Context.operator(account, platform.clock)
        number = add_number(uow, ctx, account, "+3223000163")
        add_virtual_fax(uow, ctx, account, number.id, "fax@dupont.example")
        uow.commit()
    suspend(platform, account)
    await reload(platform)
    refused = await caller.call(port, "+3223000163")
    assert refused.status == 403
    assert '"PAY-3 ' in (refused.headers.get("warning") or "")
    (cdr,) = await cdrs(platform)
    assert (cdr["direction"], cdr["outcome"], cdr["refusal_rule"]) == ("inbound", "refused", "PAY-3")
    assert (cdr["account_id"], cdr["caller"], cdr["callee"]) == (account, CALLER, "+3223000163")
