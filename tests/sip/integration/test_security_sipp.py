"""SIP-5 over real UDP: a SIPp password-guessing burst bans its address; scanners get no answer."""

from __future__ import annotations

import pytest

from nuage.sip import SipSettings
from nuage.sip.security import SecuritySettings
from sip.harness import Lab, RawUdpPhone, SippResult, free_port, needs_sipp, register_with_sipp, run_sipp

pytestmark = pytest.mark.rule("SIP-5")


@pytest.mark.sipp
@needs_sipp
async def test_password_guessing_burst_bans_the_address_but_not_others(lab: Lab) -> None:
    assert lab.server.settings.security == SecuritySettings()  # the defaults: 10 failures in 60 s
    target = f"127.0.0.1:{lab.port}"
    burst = await run_sipp(
        "register_refused.xml",
        target,
        port=free_port(),
        args=["-s", "bob", "-au", "bob", "-ap", "wrong", "-m", "10", "-r", "50"],
    )
    assert burst.returncode == 0, burst.output  # ten challenges, ten 403s
    (ban,) = lab.server.bans()
    assert ban.address == "127.0.0.1"
    assert ban.remaining_s > 590

    # even the right password from the banned address gets no answer at all
    honest = await register_with_sipp_quick(lab, "bob", "bob-secret")
    assert honest.returncode != 0
    assert lab.server.registrations() == []

    # another address is served
    other = await run_sipp(
        "register.xml",
        target,
        port=free_port(),
        ip="127.0.0.2",
        args=["-s", "bob", "-au", "bob", "-ap", "bob-secret", "-m", "1"],
    )
    assert other.returncode == 0, other.output
    assert [b.source_host for b in lab.server.registrations()] == ["127.0.0.2"]

    # the operator lifts the ban: the address is served again
    assert lab.server.unban("127.0.0.1")
    assert lab.server.bans() == []
    again = await register_with_sipp(lab, "bob", "bob-secret", free_port())
    assert again.returncode == 0, again.output


async def register_with_sipp_quick(lab: Lab, username: str, password: str) -> SippResult:
    """Like register_with_sipp, but gives up after 3 s without an answer."""
    return await run_sipp(
        "register.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        timeout=3,
        args=["-s", username, "-au", username, "-ap", password, "-m", "1"],
    )


@pytest.mark.parametrize("agent", ["friendly-scanner", "sipvicious", "VaxSIPUserAgent/3.1"])
async def test_scanner_user_agent_gets_no_answer(lab: Lab, agent: str) -> None:
    phone = RawUdpPhone()
    try:
        uri = f"sip:127.0.0.1:{lab.port}"
        phone.send(phone.request("OPTIONS", uri, call_id="scan-1", headers=[("User-Agent", agent)]), lab.port)
        with pytest.raises(TimeoutError):
            await phone.response(timeout=1.0)
        phone.send(
            phone.request("REGISTER", uri, call_id="scan-2", headers=[("User-Agent", agent)]), lab.port
        )
        with pytest.raises(TimeoutError):
            await phone.response(timeout=1.0)
        # the same phone with an ordinary User-Agent is answered
        phone.send(
            phone.request("OPTIONS", uri, call_id="scan-3", headers=[("User-Agent", "Linphone")]), lab.port
        )
        assert (await phone.response()).status == 200
    finally:
        phone.close()
    assert lab.server.security.dropped["scanner"] == 2


FLOOD_SETTINGS = SipSettings(listen_port=0, t1_s=0.1, security=SecuritySettings(rate_per_s=5, burst=10))


@pytest.mark.parametrize("lab_settings", [FLOOD_SETTINGS])
async def test_a_flooding_source_is_answered_up_to_its_burst(lab: Lab) -> None:
    phone = RawUdpPhone()
    try:
        uri = f"sip:127.0.0.1:{lab.port}"
        for n in range(30):
            phone.send(phone.request("OPTIONS", uri, call_id=f"flood-{n}"), lab.port)
        answered = 0
        while True:
            try:
                response = await phone.response(timeout=0.5)
            except TimeoutError:
                break
            assert response.status == 200
            answered += 1
    finally:
        phone.close()
    assert 10 <= answered <= 11  # the burst (plus what refilled meanwhile at 5/s)
    assert lab.server.security.dropped["rate"] == 30 - answered
