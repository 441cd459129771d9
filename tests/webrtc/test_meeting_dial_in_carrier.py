"""A call from the public network dials in to a Web Meeting room (MTG-1): the demo carrier (a
hand-driven UDP peer on its own address) calls a number of Atelier Dupont routed to the room, keys
the PIN, and is in the room's audio bridge on the test's Janus; the call is an inbound call of the
account on the carrier, holding one of its channels while it lasts (CAP-3), with its CDR. On SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from media import test_attendant_from_carrier as carrier_tests
from media.peers import Peer, rms
from media.test_attendant_from_carrier import (
    CALLER,
    CARRIER_HOST,
    CarrierGateway,
    OutsideCaller,
    cdrs,
    dupont,
    in_use,
)
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime
from nuage.media_settings import SipMediaSettings, SipVoicemailSettings
from nuage.services.demo import load_demo
from nuage.shared.clock import SystemClock
from waiting import wait_for_condition
from webrtc.conftest import janus_settings
from webrtc.janus_server import JanusServer
from webrtc.test_meeting_dial_in import DIAL_IN, PIN, in_room, order_for_dupont
from webrtc.test_meeting_rooms_api import pay_invoice

prompts_dir = carrier_tests.prompts_dir  # the generated prompts (a session fixture)


@pytest.fixture
async def outside(
    platform: Platform,
    prompts_dir: Path,
    janus: JanusServer,
) -> AsyncIterator[tuple[Platform, int, OutsideCaller]]:
    gateway = CarrierGateway()
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        (carrier,) = uow.carrier_trunks.list()
        uow.carrier_trunks.update(replace(carrier, host=CARRIER_HOST, port=gateway.port))
        uow.commit()
    low = free_port(span=300)
    platform.settings.janus = janus_settings(janus)
    platform.settings.sip.port = 0
    platform.settings.sip.media = SipMediaSettings(port_min=low, port_max=low + 299, timeout_s=60)
    platform.settings.sip.voicemail = SipVoicemailSettings(prompts_dir=prompts_dir)
    platform.clock = SystemClock()
    runtime = SipRuntime(platform)
    await runtime.start()
    caller = OutsideCaller(gateway, await Peer.start())
    try:
        yield platform, runtime.server.bound_address("UDP").port, caller
    finally:
        gateway.close()
        caller.rtp.close()
        await runtime.stop(grace_s=1)
        release(low, 300)


@pytest.mark.rule("MTG-1")
@pytest.mark.rule("CAP-3")
async def test_a_carrier_call_dials_in_to_a_paid_meeting_room(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    room = order_for_dupont(platform)
    pay_invoice(platform, room.invoice_number)
    assert (await caller.call(port, DIAL_IN)).status == 200
    await caller.rtp.send_tone(caller.engine_port, 300, 100)  # latches the engine on the caller's port
    await wait_for_condition(lambda: rms(caller.rtp.audio()) > 300, timeout=30, what="the PIN prompt")
    assert in_use(platform) == 1  # CAP-3: an inbound channel of the account held
    for key in PIN + "#":
        await caller.rtp.send_digit(caller.engine_port, key)
    await wait_for_condition(
        lambda: in_room(platform, room) == [f"{CALLER} (phone)"], timeout=30, what="the caller in the room"
    )
    await caller.hang_up(port)
    await wait_for_condition(lambda: in_room(platform, room) == [], timeout=30, what="the caller out")
    await wait_for_condition(lambda: in_use(platform) == 0, what="the channel given back")
    (cdr,) = await cdrs(platform)
    assert (cdr["direction"], cdr["outcome"]) == ("inbound", "answered")
    assert (cdr["account_id"], cdr["callee"], cdr["caller"]) == (dupont(platform), DIAL_IN, CALLER)
