"""The Nuage SIP plane on its SQL storage, for the call-policy cost benchmark (``policy_cost.py``).

Two commands, each run as its own process:

``setup``
    Migrates a database and fills it with demo-like customers through the platform's use cases:
    per account three users (extensions 201-203) with a number each, a softphone each, a block of
    ten numbers; one carrier gateway. Every device is pre-registered at one SIPp phone (the same
    SIPp process answers the calls to phones and, as the carrier gateway, the outbound calls).
    Writes the SIPp injection file: each line a caller (SIP username, password, presented number)
    and what it dials, alternating an internal call (another user's extension of the same account)
    and an outbound call (a random mobile number), the accounts in turn.

``serve``
    Runs the SIP plane on that database, either as ``nuage serve`` wires it (``--policy terms``:
    ``SipRuntime``, so the terms-based call policy with its background snapshot, channel counter,
    SIP-4 detector, SIP-5 spending, reconciler and the CDR writer that gives channels back) or with
    everything the same except the policy (``--policy bare``: ``DialPlanPolicy``, no policy
    snapshot, the plain CDR writer). ``--policy terms-static`` is a diagnosis: ``SipRuntime`` whose
    policy snapshot is loaded at start and never refreshed. Prints ``ready``; on SIGTERM stops,
    then prints one JSON line of what it saw.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import csv
import json
import logging
import random
import shutil
import signal
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from nuage.bootstrap import Platform, SipRuntime, build_platform
from nuage.config import Settings, SipSettings
from nuage.directory.model import DeviceKind
from nuage.services import tenancy as t
from nuage.services.billing.defaults import load_billing_defaults
from nuage.services.context import Context
from nuage.services.directory.carrier_trunks import add_carrier_trunk
from nuage.services.directory.devices import add_device
from nuage.services.directory.numbers import add_number, add_number_block, assign_number
from nuage.services.directory.users import add_user
from nuage.shared.clock import SystemClock
from nuage.sip.ports import Binding
from nuage.tenancy.model import Language, OrderLine

PASSWORD = "Bench-Phone-2026"  # every bench phone's SIP password (digest is still computed per call)
FIRST_NUMBER = 3224000000  # +32 2 400 00 00: account i owns +32 2 4.. .. .. from 10 * i on
USERS_PER_ACCOUNT = 3


def username(account: int, user: int) -> str:
    """SIP username of user ``user`` (0-based) of account ``account``."""
    return f"a{account:05d}u{user}"


def number(account: int, user: int) -> str:
    return f"+{FIRST_NUMBER + 10 * account + user}"


def scratch_dir() -> Path:
    """A data folder for a platform of the bench, removed when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="nuage-bench-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


# -- setup ---------------------------------------------------------------------------------------


def setup(url: str, accounts: int, phone_port: int, injection: Path) -> None:
    """Create ``accounts`` customers and the operator's carrier gateway (the SIPp phone)."""
    settings = Settings(data_dir=scratch_dir(), database_url=url)
    platform = build_platform(settings, migrate=True)
    clock = SystemClock()
    devices: list[tuple[str, str]] = []  # (device id, username)
    try:
        with platform.uow() as uow:
            operator = t.create_operator(uow, Context.operator("-", clock), "Bench Telecom")
            ctx = Context.operator(operator.id, clock)
            add_carrier_trunk(uow, ctx, "Bench carrier", "127.0.0.1", phone_port)
            load_billing_defaults(uow, clock)  # as the demo: retail tariffs (SIP-5 prices calls with them)
            for i in range(accounts):
                customer = t.create_customer(uow, ctx, f"Bench customer {i:05d}", email=f"a{i}@bench.example")
                t.place_order(
                    uow, ctx, customer.id, terms_version="2026-01", language=Language.EN,
                    accepted_by="Bench", service_start_on=date(2026, 1, 10),
                    lines=[OrderLine("activation", 1, "Account activation")],
                )  # fmt: skip
                block = add_number_block(uow, ctx, customer.id, number(i, 0), 10, street="Rue 1",
                                           postal_code="1000", city="Bruxelles", country="BE")  # fmt: skip
                for u in range(USERS_PER_ACCOUNT):
                    user = add_user(uow, ctx, customer.id, f"User {u} of {i}", extension=f"20{u + 1}")
                    e164 = add_number(uow, ctx, customer.id, number(i, u), block_id=block.id, main=u == 0)
                    assign_number(uow, ctx, e164.id, user_id=user.id)
                    device = add_device(
                        uow, ctx, customer.id, DeviceKind.SOFTPHONE_PC, f"PC {u}", user_id=user.id,
                        sip_username=username(i, u), sip_password=PASSWORD,
                    )  # fmt: skip
                    devices.append((device.id, username(i, u)))
            uow.commit()
        asyncio.run(_register(platform, devices, phone_port))
    finally:
        platform.close()
    rng = random.Random(7)
    with injection.open("w", newline="") as out:
        out.write("SEQUENTIAL\n")
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        for k in range(2 * accounts):
            i, outbound = k % accounts, k >= accounts
            caller = rng.randrange(USERS_PER_ACCOUNT)
            if outbound:
                dialled = f"0475{rng.randrange(1_000_000):06d}"
            else:
                dialled = f"20{(caller + 1 + rng.randrange(USERS_PER_ACCOUNT - 1)) % USERS_PER_ACCOUNT + 1}"
            name = username(i, caller)
            auth = f"[authentication username={name} password={PASSWORD}]"
            writer.writerow([name, PASSWORD, number(i, caller), dialled, auth])


async def _register(platform: Platform, devices: list[tuple[str, str]], port: int) -> None:
    """Every device registered at the SIPp phone (written as the registrar would)."""
    from nuage.storage.sql.sip_records import SqlBindingStore

    store = SqlBindingStore(platform.engine)
    now = datetime.now(UTC)
    for device_id, name in devices:
        await store.upsert(
            Binding(
                device_id=device_id, username=name, contact=f"sip:{name}@127.0.0.1:{port}",
                expires_at=now + timedelta(days=2), call_id=f"bench-{name}", cseq=1,
                source_transport="UDP", source_host="127.0.0.1", source_port=port, registered_at=now,
            )
        )  # fmt: skip
    await store.flush()


# -- serve ---------------------------------------------------------------------------------------


class BareRuntime:
    """``SipRuntime`` without the terms: the same directory, bindings, CDR sink and server
    settings, with ``DialPlanPolicy`` (every resolved call authorised) and the plain CDR writer."""

    def __init__(self, platform: Platform) -> None:
        from nuage.sip.policy import DialPlanPolicy
        from nuage.sip.server import SipServer
        from nuage.sip.server_settings import SipSettings as ServerSettings
        from nuage.storage.sql.sip_adapters import SqlSipDirectory
        from nuage.storage.sql.sip_records import SqlBindingStore, SqlCdrSink

        config = platform.settings.sip
        self.directory = SqlSipDirectory(platform.engine, home_region=platform.settings.home_region)
        self.bindings = SqlBindingStore(platform.engine)
        settings = ServerSettings(
            listen_host=config.host,
            listen_port=config.port,
            realm=config.realm,
            max_call_duration_s=float(config.max_call_duration_s),
        )
        self.server = SipServer(
            settings,
            credentials=self.directory,
            dial_plan=self.directory,
            bindings=self.bindings,
            policy=DialPlanPolicy(),
            cdr_sink=SqlCdrSink(platform.engine),
            clock=platform.clock,
        )
        self.directory.on_carriers = self.server.security.trust_carriers

    async def start(self) -> None:
        await self.directory.start()
        await self.server.start()

    async def stop(self, grace_s: float = 10.0) -> None:
        try:
            await self.server.stop(grace_s)
        finally:
            await self.bindings.close()
            await self.directory.stop()


async def serve(url: str, port: int, policy: str) -> dict[str, Any]:
    settings = Settings(data_dir=scratch_dir(), database_url=url, sip=SipSettings(port=port))
    platform = build_platform(settings)
    runtime: SipRuntime | BareRuntime = BareRuntime(platform) if policy == "bare" else SipRuntime(platform)
    if isinstance(runtime, SipRuntime) and policy == "terms-static":
        # a diagnosis, not a wiring: the policy's snapshot loaded at start and never again, i.e. what
        # the policy would cost if its state were re-read only when it changed (and nothing changed)
        runtime.policy_state._view._refresh_s = 86400.0
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    seen: dict[str, Any] = {"policy": policy, "calls_in_progress": len(runtime.server.calls())}
    if isinstance(runtime, SipRuntime):
        state = runtime.policy_state.snapshot
        seen["policy_accounts"] = len(state.accounts)
        seen["autodialer_blocks"] = [b.reason for b in runtime.policy.autodialer_blocks()]
        seen["channels_held"] = len(runtime.policy.channels.held_calls())
    await runtime.stop(grace_s=2)
    platform.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("setup")
    make.add_argument("--database-url", required=True)
    make.add_argument("--accounts", type=int, required=True)
    make.add_argument("--phone-port", type=int, required=True)
    make.add_argument("--injection", type=Path, required=True)
    run = commands.add_parser("serve")
    run.add_argument("--database-url", required=True)
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--policy", choices=("terms", "bare", "terms-static"), required=True)
    run.add_argument("--profile", help="write cProfile stats to this file on exit")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if options.command == "setup":
        setup(options.database_url, options.accounts, options.phone_port, options.injection)
        return
    try:  # as `nuage serve` does
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    if options.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        seen = asyncio.run(serve(options.database_url, options.port, options.policy))
        profiler.disable()
        profiler.dump_stats(options.profile)
    else:
        seen = asyncio.run(serve(options.database_url, options.port, options.policy))
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    main()
