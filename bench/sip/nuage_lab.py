"""Run a Nuage SIP server with in-memory ports, for the benchmark (a separate process so its
CPU time can be read from /proc).

Accounts: alice / alice-secret and bob / bob-secret. The carrier gateway is 127.0.0.2 (calls
from it need no authentication); its number +3223333333 rings bob, whose phone is pre-registered
at 127.0.0.1:<bob-port> (a SIPp UAS).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta

from nuage.sip import SipServer, SipSettings, install_uvloop, tune_gc
from nuage.sip.memory import MemoryBindingStore, MemoryCdrSink, MemoryCredentialStore, MemoryDialPlan
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import Binding, CarrierTrunk, SipAccount, UserDestination
from nuage.sip.security import SecuritySettings

ALICE = SipAccount("dev-alice", "acc-1", "usr-alice", "alice", "alice-secret", "Alice", "+3221111111")
BOB = SipAccount("dev-bob", "acc-1", "usr-bob", "bob", "bob-secret", "Bob", "+3222222222")


async def bob_registered(bob_port: int) -> MemoryBindingStore:
    """A binding store where Bob's phone is registered at 127.0.0.1:``bob_port`` for a day."""
    bindings = MemoryBindingStore()
    now = datetime.now(UTC)
    await bindings.upsert(
        Binding(
            device_id="dev-bob",
            username="bob",
            contact=f"sip:bob@127.0.0.1:{bob_port}",
            expires_at=now + timedelta(days=1),
            call_id="bench",
            cseq=1,
            source_transport="UDP",
            source_host="127.0.0.1",
            source_port=bob_port,
            registered_at=now,
        )
    )
    return bindings


async def main(port: int, bob_port: int, max_auth_failures: int = 10) -> None:
    credentials = MemoryCredentialStore([ALICE, BOB])
    carrier = CarrierTrunk("trunk-carrier", "127.0.0.2", 5060)
    dial_plan = MemoryDialPlan(credentials, carrier=carrier)
    dial_plan.numbers["+3223333333"] = UserDestination("usr-bob", "acc-1", ("dev-bob",))
    bindings = await bob_registered(bob_port)
    cdrs = MemoryCdrSink()
    # the benchmark drives thousands of messages/s from one address: no per-address rate limit
    settings = SipSettings(
        listen_port=port,
        transports=("UDP",),
        cdr_batch_size=500,
        security=SecuritySettings(rate_per_s=0, max_auth_failures=max_auth_failures),
    )
    server = SipServer(
        settings,
        credentials=credentials,
        dial_plan=dial_plan,
        bindings=bindings,
        policy=DialPlanPolicy(),
        cdr_sink=cdrs,
    )
    await server.start()
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await server.stop(grace_s=1)
    print(f"cdrs={len(cdrs.records)}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bob-port", type=int, required=True)
    parser.add_argument("--no-uvloop", action="store_true")
    parser.add_argument("--max-auth-failures", type=int, default=10, help="0: never ban (fuzz.py)")
    parser.add_argument("--profile", help="write cProfile stats to this file on exit")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not options.no_uvloop:
        install_uvloop()
    if options.profile:
        import cProfile

        cProfile.run(
            "asyncio.run(main(options.port, options.bob_port, options.max_auth_failures))", options.profile
        )
    else:
        asyncio.run(main(options.port, options.bob_port, options.max_auth_failures))
