"""SIP-3 over real SIP: a PBX-only account (no billable user, so no CAP-1 channel) calls out
through its trunk only once the trunk subscribes channels, the capacity it pays for (CAP-3)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from nuage.bootstrap import Platform
from nuage.directory.model import TrunkAuth
from nuage.services.context import Context
from nuage.services.directory.trunks import TrunkChanges, update_trunk

from .test_demo_calls import demo_sip, free_port
from .test_trunks_and_hot_desk import _carrier_sees, _dupont, _header, _pbx_call, _refusal, _reload, _trunk

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]

__all__ = ["demo_sip"]


@pytest.mark.rule("SIP-3")
@pytest.mark.rule("CAP-3")
async def test_a_pbx_only_account_calls_out_on_the_channels_its_trunk_subscribes(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    dupont = _dupont(platform)
    with platform.uow() as uow:  # a PBX-only account: nobody uses the hosted telephony
        for user in uow.users.list(account_id=dupont):
            uow.users.update(replace(user, no_service=True))
        uow.commit()
    pbx_port = free_port()
    trunk = _trunk(platform, dupont, TrunkAuth.IP, allowed_ips=f"127.0.0.1:{pbx_port}", number="+3223000160")
    await _reload(platform)
    status, warning = await _refusal(
        sip_port, "pbx_refused.xml", pbx_port, tmp_path, "-s", "0475123456", "-key", "caller", "+3223000160"
    )
    assert status == 486
    assert '"CAP-3 ' in warning  # no user and no subscribed channel: no capacity
    with platform.uow() as uow:
        update_trunk(
            uow, Context.operator("op-test", platform.clock), trunk.id, TrunkChanges(channel_limit=2)
        )
        uow.commit()
    await _reload(platform)
    invite = await _carrier_sees(
        carrier_port, tmp_path, _pbx_call(sip_port, pbx_port, "0475123456", "+3223000160")
    )
    assert "+3223000160@" in _header(invite, "p-asserted-identity")[0]
