"""A directory change reaches the SIP plane by itself: the accounts it touched are read again and
applied, the directory is not read whole (issue #22: a full rebuild costs seconds of CPU at 10,000
accounts). Real storage (SQLite and PostgreSQL), the wired SIP plane, SIPp phones on loopback."""

from __future__ import annotations

import shutil

import pytest

from integration.sip import test_demo_calls
from netports import free_port
from nuage.bootstrap import Platform
from nuage.directory.model import DeviceKind
from nuage.services.context import Context
from nuage.services.directory.devices import add_device, remove_device
from nuage.tenancy.model import PartyKind
from sip.harness import run_sipp

demo_sip = test_demo_calls.demo_sip  # the fixture: the demo's SIP plane on real storage
register = test_demo_calls.register

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]


@pytest.mark.rule("SIP-1")
async def test_a_new_phone_registers_and_a_removed_one_cannot_without_a_full_rebuild(
    demo_sip: tuple[Platform, int, int],
) -> None:
    platform, sip_port, _ = demo_sip
    assert platform.sip is not None
    directory = platform.sip.directory
    assert directory.full_loads == 1  # at start
    ctx = Context.operator("op-test", platform.clock)
    with platform.uow() as uow:
        account = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert account is not None
        phone = add_device(uow, ctx, account.id, DeviceKind.SOFTPHONE_PC, "New laptop")
        uow.commit()
    assert phone.sip_username is not None
    assert phone.sip_password is not None

    # unknown to the snapshot until now: the REGISTER itself brings the change in
    await register(sip_port, phone.sip_username, phone.sip_password, free_port())
    assert phone.id in {b.device_id for b in platform.sip.server.registrations()}
    assert directory.full_loads == 1
    assert directory.applied >= 1

    with platform.uow() as uow:
        remove_device(uow, ctx, phone.id)
        uow.commit()
    await directory.reload()
    refused = await run_sipp(
        "register_refused.xml",
        f"127.0.0.1:{sip_port}",
        port=free_port(),
        args=["-s", phone.sip_username, "-au", phone.sip_username, "-ap", phone.sip_password, "-m", "1"],
    )
    assert refused.returncode == 0, refused.output  # challenged, then 403
    assert directory.full_loads == 1
