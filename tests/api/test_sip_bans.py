"""SIP-5 bans the operator can see (issue #20, item 10): a ban triggered over real SIP is listed
and lifted through the API and the CLI, outlives a restart of the SIP plane, is shared by two
SIP nodes through Redis; a trusted carrier is trusted at its address and port, nothing more.

The SIP plane runs in-process on a copy of the demo (SQLite); the phones are raw UDP sockets on
127.0.0.1 that guess passwords; the CLI runs as the operator would run it, beside the node.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from typer.testing import CliRunner, Result

from api.support import Api
from nuage.bootstrap import Platform, SipRuntime
from nuage.cli import app
from nuage.services.demo import load_demo
from nuage.shared.clock import SystemClock
from nuage.sip.transport import Address
from sip.harness import RawUdpPhone
from sip.test_redis_nonces import REDIS_URL, _redis_available
from waiting import wait_for_condition

pytestmark = pytest.mark.rule("SIP-5")

OPERATOR, DUPONT = "demo-operator", "demo-dupont"
runner = CliRunner()


def _sip_settings(platform: Platform) -> None:
    """Three failed authentications ban; nodes sync their bans every 0.1 s; real time."""
    platform.settings.sip.port = 0
    platform.settings.sip.security.max_auth_failures = 3
    platform.settings.sip.bans_sync_s = 0.1
    platform.clock = SystemClock()  # bans and registrations last real seconds here


async def _guess_passwords(phone: RawUdpPhone, port: int) -> None:
    """Three wrong passwords from ``phone``: each refused (403); the third bans its address."""
    for attempt in range(3):
        assert await phone.register(port, "bob", "not-the-password", cseq=10 * attempt + 1) == 403


async def _answered(phone: RawUdpPhone, port: int, cseq: int, *, within: float = 10.0) -> bool:
    """Whether the node answers an OPTIONS from ``phone`` at all within ``within`` seconds (a banned
    source gets nothing: the tests that expect silence wait one second for it, and those that expect
    an answer give a loaded machine its time)."""
    phone.send(phone.request("OPTIONS", f"sip:127.0.0.1:{port}", call_id=f"ping-{cseq}", cseq=cseq), port)
    try:
        return (await phone.response(timeout=within)).status == 200
    except TimeoutError:
        return False


async def _cli(platform: Platform, *args: str) -> Result:
    """``nuage ARGS --data-dir ...`` in a worker thread (the command runs its own event loop)."""
    argv = [*args, "--data-dir", str(platform.settings.data_dir)]
    return await asyncio.to_thread(runner.invoke, app, argv)


@pytest.fixture
async def node(api: Api) -> AsyncIterator[SipRuntime]:
    """The SIP plane on the API's demo, started (a test may restart it: the newest is stopped)."""
    _sip_settings(api.platform)
    runtime = SipRuntime(api.platform)
    await runtime.start()
    yield runtime
    if api.platform.sip is not None:
        await api.platform.sip.stop(grace_s=0)


async def test_a_ban_is_listed_and_lifted_through_the_api_and_the_cli_and_outlives_a_restart(
    api: Api, node: SipRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NUAGE_DATABASE_URL", "NUAGE_CONFIG_FILE", "NUAGE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    port = node.server.bound_address("UDP").port
    phone = RawUdpPhone()
    try:
        await _guess_passwords(phone, port)
        assert not await _answered(
            phone, port, 100, within=1.0
        )  # banned: not even the right password is heard

        listed = await api.get(OPERATOR, "/sip/bans")
        assert listed.status_code == 200, listed.text
        (ban,) = listed.json()["items"]
        assert ban["address"] == "127.0.0.1"
        assert "3 failed authentications" in ban["reason"]
        hidden = await api.get(DUPONT, "/sip/bans")
        assert (hidden.status_code, hidden.json()["error_id"]) == (404, "not-found")  # TEN-4

        # the ban is written behind: the CLI, another process's view, reads it from the store
        await wait_for_condition(
            lambda: node.ban_store.active(api.platform.clock.now()), what="the ban stored"
        )
        shown = await _cli(api.platform, "sip", "bans", "list")
        assert shown.exit_code == 0, shown.output
        assert shown.output.split()[0] == "127.0.0.1"
        assert "3 failed authentications" in shown.output

        # a restarted SIP plane keeps the ban in force from its first message
        await node.stop(grace_s=0)
        restarted = SipRuntime(api.platform)
        await restarted.start()
        port = restarted.server.bound_address("UDP").port
        assert [b.address for b in restarted.server.bans()] == ["127.0.0.1"]
        assert not await _answered(phone, port, 101, within=1.0)

        # the operator lifts it from the command line; the running node follows within a sync
        lifted = await _cli(api.platform, "sip", "bans", "lift", "127.0.0.1")
        assert lifted.exit_code == 0, lifted.output
        await wait_for_condition(lambda: not restarted.server.bans(), what="the node to drop the lifted ban")
        assert await phone.register(port, "bob", "Bob-Demo-2026!", cseq=200) == 200
        again = await _cli(api.platform, "sip", "bans", "lift", "127.0.0.1")
        assert (again.exit_code, "not-found" in again.output) == (2, True)
        assert "no address is banned" in (await _cli(api.platform, "sip", "bans", "list")).output
        refused = await _cli(api.platform, "sip", "bans", "lift", "not-an-address")
        assert (refused.exit_code, "invalid-input" in refused.output) == (2, True)

        # and from the API: banned again for real, lifted at once in this process's node
        await _guess_passwords(phone, port)
        assert not await _answered(phone, port, 102, within=1.0)
        assert (await api.delete(OPERATOR, "/sip/bans/127.0.0.1")).status_code == 204
        assert await _answered(phone, port, 103)
        assert (await api.get(OPERATOR, "/sip/bans")).json() == {"items": [], "total": 0}
        assert await restarted.ban_store.active(api.platform.clock.now()) == []
    finally:
        phone.close()
    missing = await api.delete(OPERATOR, "/sip/bans/127.0.0.1")
    assert (missing.status_code, missing.json()["error_id"]) == (404, "not-found")
    bad = await api.delete(OPERATOR, "/sip/bans/999.1.2.3")
    assert (bad.status_code, bad.json()["error_id"]) == (422, "invalid-input")
    assert (await api.delete(OPERATOR, "/sip/bans/not-an-ip")).status_code == 422
    assert (await api.delete(DUPONT, "/sip/bans/127.0.0.1")).status_code == 404  # TEN-4


async def test_without_sip_in_the_process_the_api_reads_and_lifts_the_stored_bans(api: Api) -> None:
    _sip_settings(api.platform)
    runtime = SipRuntime(api.platform)
    await runtime.start()
    runtime.server.security.ban("198.51.100.7", reason="operator test")
    await runtime.bans.flush()
    await runtime.stop(grace_s=0)  # the API process alone now (nuage serve --no-sip, or another host)
    (ban,) = (await api.get(OPERATOR, "/sip/bans")).json()["items"]
    assert (ban["address"], ban["reason"]) == ("198.51.100.7", "operator test")
    assert (await api.delete(OPERATOR, "/sip/bans/198.51.100.7")).status_code == 204
    assert (await api.get(OPERATOR, "/sip/bans")).json()["total"] == 0


@pytest.mark.skipif(not _redis_available(), reason=f"Redis not reachable at {REDIS_URL}")
async def test_two_sip_nodes_share_their_bans_and_lifts_through_redis(api: Api) -> None:
    import redis.asyncio

    _sip_settings(api.platform)
    prefix = f"nuage-test:{secrets.token_hex(6)}:"
    api.platform.settings.sip.bans = "redis"
    api.platform.settings.sip.redis_url = REDIS_URL
    api.platform.settings.sip.redis_key_prefix = prefix
    one, two = SipRuntime(api.platform), SipRuntime(api.platform)
    await one.start()
    await two.start()
    phone = RawUdpPhone()
    try:
        port_one, port_two = (n.server.bound_address("UDP").port for n in (one, two))
        assert await _answered(phone, port_two, 1)
        await _guess_passwords(phone, port_one)  # banned by node one ...
        await wait_for_condition(lambda: bool(two.server.bans()), what="node two to hold the ban")
        assert not await _answered(phone, port_two, 2, within=1.0)  # ... and dropped by node two
        assert await two.lift_ban("127.0.0.1")  # the operator lifts it on node two ...
        await wait_for_condition(lambda: not one.server.bans(), what="node one to drop the lifted ban")
        assert await _answered(phone, port_one, 3)  # ... node one serves the address again
    finally:
        phone.close()
        await two.stop(grace_s=0)
        await one.stop(grace_s=0)
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_a_trusted_carrier_is_trusted_at_its_address_and_port_only(api: Api) -> None:
    """Before: a carrier on 127.0.0.1 made every client of 127.0.0.1 trusted, never banned."""
    carrier, phone = RawUdpPhone(), RawUdpPhone()
    try:
        with api.platform.uow() as uow:
            (trunk,) = uow.carrier_trunks.list()
            uow.carrier_trunks.update(replace(trunk, host="127.0.0.1", port=carrier.port))
            uow.commit()
        _sip_settings(api.platform)
        runtime = SipRuntime(api.platform)
        await runtime.start()
        try:
            port = runtime.server.bound_address("UDP").port
            guard = runtime.server.security
            assert guard.trusted(Address("UDP", "127.0.0.1", carrier.port))
            assert not guard.trusted(Address("UDP", "127.0.0.1", phone.port))
            await _guess_passwords(phone, port)  # a phone beside the carrier guesses: banned
            assert [b.address for b in runtime.server.bans()] == ["127.0.0.1"]
            assert not await _answered(phone, port, 1, within=1.0)
            assert await _answered(carrier, port, 2)  # the carrier, at its port, is still served
        finally:
            await runtime.stop(grace_s=0)
    finally:
        carrier.close()
        phone.close()


def test_the_demo_carrier_has_a_loopback_address_of_its_own(platform: Platform) -> None:
    """The demo's phones and SIPp run on 127.0.0.1; its carrier on 127.0.0.2 (a demo loaded before,
    with the carrier on 127.0.0.1:5090, has it moved on its next load)."""
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    with platform.uow() as uow:
        (carrier,) = uow.carrier_trunks.list()
        assert (carrier.host, carrier.port) == ("127.0.0.2", 5090)
        uow.carrier_trunks.update(replace(carrier, host="127.0.0.1"))
        uow.commit()
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    with platform.uow() as uow:
        (carrier,) = uow.carrier_trunks.list()
    assert (carrier.host, carrier.port) == ("127.0.0.2", 5090)
