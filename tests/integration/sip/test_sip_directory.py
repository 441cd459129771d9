"""The SIP directory snapshot over storage: which customer trunk an address belongs to (SIP-3)."""

from __future__ import annotations

import pytest

from nuage.bootstrap import Platform
from nuage.directory.model import TrunkAuth
from nuage.services import tenancy as t
from nuage.services.context import Context
from nuage.services.directory.trunks import add_trunk
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
