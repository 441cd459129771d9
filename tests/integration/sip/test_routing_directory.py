"""The SIP directory's view of call routing (issue #15) over storage, SQLite and PostgreSQL: forwarding
and ring groups read whole and then one account at a time from the change journal, ring groups by
extension and by number, and a feature code's change stored through the use case."""

from __future__ import annotations

import pytest

from nuage.adapters.call_routing import RoutingBridge
from nuage.bootstrap import Platform
from nuage.directory.model import DeviceKind
from nuage.directory.routing import HuntStrategy
from nuage.services import tenancy as t
from nuage.services.context import Context
from nuage.services.directory.devices import add_device
from nuage.services.directory.forwarding import ForwardingChanges, set_forwarding
from nuage.services.directory.numbers import add_number, assign_number
from nuage.services.directory.ring_groups import add_ring_group, remove_ring_group
from nuage.services.directory.users import add_user
from nuage.sip.ports import GroupDestination, SipAccount
from nuage.sip.routing import ForwardingRule, HuntGroup
from nuage.storage.sql.sip_adapters import SqlSipDirectory


async def test_forwarding_and_groups_reach_the_sip_directory_and_follow_changes(platform: Platform) -> None:
    ctx = Context.operator("op-test", platform.clock)
    with platform.uow() as uow:
        customer = t.create_customer(uow, ctx, "Routing Ltd")
        anne = add_user(uow, ctx, customer.id, "Anne", extension="201")
        ben = add_user(uow, ctx, customer.id, "Ben", extension="202")
        phone = add_device(
            uow,
            ctx,
            customer.id,
            DeviceKind.DESK_PHONE,
            "Anne desk",
            user_id=anne.id,
            sip_username="anne201",
            sip_password="Anne-Desk-2026!",
        )
        set_forwarding(
            uow, ctx, anne.id, ForwardingChanges(busy="202", no_answer="+32475123456", no_answer_s=12)
        )
        group = add_ring_group(
            uow,
            ctx,
            customer.id,
            "Sales",
            strategy=HuntStrategy.ROUND_ROBIN,
            members=(anne.id, ben.id),
            extension="250",
            fallback="201",
        )
        number = add_number(uow, ctx, customer.id, "+3223009050")
        main = add_number(uow, ctx, customer.id, "+3223009051", main=True)
        assign_number(uow, ctx, number.id, ring_group_id=group.id)
        uow.commit()
    directory = SqlSipDirectory(platform.engine, clock=platform.clock)
    await directory.reload()
    assert directory.forwarding(anne.id) == ForwardingRule(
        busy="202", no_answer="+32475123456", no_answer_s=12.0
    )
    assert directory.forwarding(ben.id) is None
    assert directory.group(group.id) == HuntGroup(
        group.id, customer.id, "round-robin", (anne.id, ben.id), 15.0, 60.0, "201", main.e164
    )
    user = directory.user(anne.id)
    assert user is not None
    assert user.destination is not None
    assert user.destination.device_ids == (phone.id,)
    caller = await directory.find_account("anne201")
    assert caller is not None
    assert await directory.resolve(caller, "250") == GroupDestination(group.id, customer.id)
    carrier = None
    assert await directory.resolve_inbound(carrier, "+3223009050") == GroupDestination(group.id, customer.id)  # type: ignore[arg-type]
    # a change applies from the journal, for this account alone
    with platform.uow() as uow:
        set_forwarding(uow, ctx, anne.id, ForwardingChanges(busy=None, dnd=True))
        remove_ring_group(uow, ctx, group.id)
        uow.commit()
    await directory.reload()
    assert directory.applied >= 1
    rule = directory.forwarding(anne.id)
    assert rule is not None
    assert (rule.busy, rule.dnd) == (None, True)
    assert directory.group(group.id) is None
    assert await directory.resolve(caller, "250") != GroupDestination(group.id, customer.id)
    assert await directory.resolve_inbound(carrier, "+3223009050") is None  # type: ignore[arg-type]


@pytest.mark.rule("EMG-2")
async def test_a_feature_code_stores_through_the_use_case_and_shows_at_once(platform: Platform) -> None:
    ctx = Context.operator("op-test", platform.clock)
    with platform.uow() as uow:
        customer = t.create_customer(uow, ctx, "Codes Ltd")
        anne = add_user(uow, ctx, customer.id, "Anne", extension="201")
        uow.commit()
    directory = SqlSipDirectory(platform.engine, clock=platform.clock)
    await directory.reload()
    bridge = RoutingBridge(platform.engine, directory, platform.clock)
    phone = SipAccount("dev-x", customer.id, anne.id, "anne", "secret")
    assert await bridge.set_forwarding(phone, unconditional="+32475123456") is None
    assert bridge.forwarding(anne.id) == ForwardingRule(unconditional="+32475123456")
    assert await bridge.set_forwarding(phone, busy="112") == "EMG-2"
    assert await bridge.set_forwarding(phone, busy="201") == "invalid"  # to herself
    rule = bridge.forwarding(anne.id)
    assert rule is not None
    assert rule.busy is None
