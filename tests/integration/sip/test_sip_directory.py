"""The SIP directory snapshot over storage: which customer trunk an address belongs to (SIP-3), what a
number leads to, and which shared phones a user sits at (CFG-13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuage.bootstrap import Platform
from nuage.directory.model import DeviceKind, HotDeskSession, TrunkAuth
from nuage.services import hot_desk as h
from nuage.services import tenancy as t
from nuage.services.context import Context
from nuage.services.directory.devices import add_device
from nuage.services.directory.media import add_virtual_fax
from nuage.services.directory.numbers import add_number
from nuage.services.directory.trunks import add_trunk, remove_trunk
from nuage.services.directory.users import add_user
from nuage.sip.ports import CarrierTrunk, FaxDestination, SipAccount
from nuage.storage.sql.sip_adapters import SqlSipDirectory


@pytest.mark.rule("SIP-3")
async def test_an_exact_address_and_port_wins_over_a_block_and_strangers_are_no_trunk(
    platform: Platform,
) -> None:
    ctx = Context.operator("op-test", platform.clock)
    with platform.uow() as uow:
        first = t.create_customer(uow, ctx, "Block Ltd")
        second = t.create_customer(uow, ctx, "Exact Ltd")
        block = add_trunk(uow, ctx, first.id, "Block PBX", TrunkAuth.IP, allowed_ips="127.0.0.0/8, ::1")
        exact = add_trunk(uow, ctx, second.id, "Exact PBX", TrunkAuth.IP, allowed_ips="127.0.0.1:5099")
        uow.commit()
    assert exact.allowed_ips == "127.0.0.1:5099"
    directory = SqlSipDirectory(platform.engine, clock=platform.clock)
    await directory.reload()
    found = await directory.find_trunk("127.0.0.1", 5099)
    assert found is not None
    assert (found.trunk_id, found.account_id) == (exact.id, second.id)
    found = await directory.find_trunk("127.0.0.1", 6000)
    assert found is not None
    assert found.trunk_id == block.id
    found = await directory.find_trunk("::1", 5060)
    assert found is not None
    assert found.trunk_id == block.id
    assert await directory.find_trunk("10.1.2.3", 5099) is None
    assert await directory.find_trunk("not-an-address", 5060) is None
    # answers are remembered per source (issue #22) only as long as the trunks they came from
    assert (await directory.find_trunk("127.0.0.1", 5099)) == (await directory.find_trunk("127.0.0.1", 5099))
    with platform.uow() as uow:
        remove_trunk(uow, ctx, exact.id)
        uow.commit()
    await directory.reload()
    found = await directory.find_trunk("127.0.0.1", 5099)
    assert found is not None
    assert found.trunk_id == block.id


@pytest.mark.rule("CFG-7")
async def test_a_number_leading_to_a_virtual_fax_resolves_to_the_fax_from_outside_and_inside(
    platform: Platform,
) -> None:
    ctx = Context.operator("op-test", platform.clock)
    with platform.uow() as uow:
        customer = t.create_customer(uow, ctx, "Fax Ltd")
        number = add_number(uow, ctx, customer.id, "+3223000166")
        free = add_number(uow, ctx, customer.id, "+3223000167")
        fax = add_virtual_fax(uow, ctx, customer.id, number.id, "fax@fax.example")
        uow.commit()
    directory = SqlSipDirectory(platform.engine, clock=platform.clock)
    await directory.reload()
    carrier = CarrierTrunk("carrier", "127.0.0.2", 5060)
    expected = FaxDestination(fax.id, customer.id)
    assert await directory.resolve_inbound(carrier, "+3223000166") == expected
    assert await directory.resolve_inbound(carrier, "023000166") == expected  # national form
    assert await directory.resolve_inbound(carrier, free.e164) is None  # unassigned, no fax
    caller = SipAccount("dev-x", customer.id, None, "x", "x")
    assert await directory.resolve(caller, "+3223000166") == expected


@pytest.mark.rule("CFG-13")
async def test_a_user_s_shared_phones_come_from_their_own_sessions_and_the_changes_stored_since(
    platform: Platform,
) -> None:
    ctx = Context.operator("op-test", platform.clock)
    with platform.uow() as uow:
        account = t.create_customer(uow, ctx, "Desks Ltd").id
        ann = add_user(uow, ctx, account, "Ann", extension="301").id
        tom = add_user(uow, ctx, account, "Tom", extension="302").id
        desks = [
            add_device(uow, ctx, account, DeviceKind.DESK_PHONE, f"Desk {n}", hot_desk=True).id
            for n in range(4)
        ]
        account_ctx = Context(t.scope_of(uow, account), platform.clock)
        h.log_in(uow, account_ctx, desks[0], ann)
        h.log_in(uow, account_ctx, desks[1], tom)
        uow.commit()
    directory = SqlSipDirectory(platform.engine, clock=platform.clock)
    await directory.reload()
    assert directory.phones_of(ann) == (desks[0],)  # from the snapshot, not Tom's
    assert directory.phones_of(tom) == (desks[1],)
    now = platform.clock.now()
    later = HotDeskSession(desks[2], ann, now, now + timedelta(hours=1))
    directory.record_hot_desk(desks[2], later, ended=(desks[0],))  # stored, not yet in a snapshot
    assert directory.phones_of(ann) == (desks[2],)
    assert directory.phones_of(tom) == (desks[1],)
    directory.record_hot_desk(desks[1], None)  # Tom logged out
    assert directory.phones_of(tom) == ()
    assert directory.phones_of("nobody") == ()
