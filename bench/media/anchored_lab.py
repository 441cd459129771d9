"""A Nuage SIP server with the embedded media engine anchoring every call, for ``anchored.py`` (a
separate process so that its CPU time can be read from /proc).

The SIP server and media plane are wired as ``nuage serve`` wires them (``MediaPlane.attach``,
``always_anchor``, ``--forwarders`` media forwarder processes: 1 by default, as ``nuage serve``),
with in-memory accounts: the carrier gateway is 127.0.0.2 (no authentication);
+3223333333 rings bob at 127.0.0.1:<bob-port> (the benchmark's own answering phones) and
+3224444444 rings carol at 127.0.0.1:<carol-port> (a SIPp UAS, for the call-rate run). Calls whose
Call-ID is ``anchored-N`` with N a multiple of ``--record-every`` are recorded (CFG-9) into
``--recordings``; the others are not. On SIGTERM it prints one JSON line: the recordings stored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nuage.adapters.media_plane import MediaPlane
from nuage.directory.recording import RecordingRule
from nuage.media.engine import EmbeddedMediaEngine
from nuage.media_settings import SipMediaSettings
from nuage.sip import SipServer, SipSettings, install_uvloop, tune_gc
from nuage.sip.media import Recording
from nuage.sip.memory import MemoryBindingStore, MemoryCdrSink, MemoryCredentialStore, MemoryDialPlan
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import Binding, CarrierTrunk, SipAccount, UserDestination
from nuage.sip.security import SecuritySettings


class BenchRecordings:
    """CFG-9 for the bench: one call in ``every`` of the bench's own calls is recorded."""

    def __init__(self, folder: Path, every: int) -> None:
        self.folder = folder
        self.every = every
        self.stored_: list[Recording] = []

    async def rule(self, account_id: str) -> RecordingRule:
        return RecordingRule(active=True)  # every call of the account; ``target`` picks the bench's

    async def target(self, account_id: str, call_id: str, parties: object = None) -> Path | None:
        prefix, _, number = call_id.partition("-")
        if prefix != "anchored" or not number.isdigit() or int(number) % self.every:
            return None
        return self.folder / f"{call_id}.flac"

    async def stored(self, account_id: str, call_id: str, recording: Recording) -> None:
        self.stored_.append(recording)


async def binding(store: MemoryBindingStore, device: str, user: str, port: int) -> None:
    now = datetime.now(UTC)
    await store.upsert(
        Binding(
            device_id=device,
            username=user,
            contact=f"sip:{user}@127.0.0.1:{port}",
            expires_at=now + timedelta(days=1),
            call_id=f"bench-{user}",
            cseq=1,
            source_transport="UDP",
            source_host="127.0.0.1",
            source_port=port,
            registered_at=now,
        )
    )


async def dump(engine: EmbeddedMediaEngine, path: Path) -> None:
    """Every session's legs as the engine and its forwarder see them, written to ``path`` (JSON):
    for the benchmark's report of the streams that received nothing."""
    sessions = []
    for call_id, relay in list(engine._sessions.items()):
        forwarder = relay.forwarder
        forwarded = forwarder is not None and relay.sid in forwarder.sessions
        with contextlib.suppress(Exception):
            await engine._forwarder_state(relay, "stats")  # the forwarder's latching and counters
        legs = {
            side.value: {
                "port": leg.port,
                "remote": leg.remote,
                "latched": leg.latched,
                "replaced": leg.replaced,
                "received": leg.stats.received,
                "strangers": leg.strangers,
                "garbage": leg.garbage,
            }
            for side, leg in relay.legs.items()
        }
        recorded = relay.recorder is not None
        sessions.append(
            {"call_id": call_id, "sid": relay.sid, "forwarded": forwarded, "recorded": recorded, "legs": legs}
        )
    part = path.with_suffix(".part")
    part.write_text(json.dumps(sessions))
    part.rename(path)


async def main(options: argparse.Namespace) -> None:
    bob = SipAccount("dev-bob", "acc-1", "usr-bob", "bob", "bob-secret", "Bob", "+3222222222")
    carol = SipAccount("dev-carol", "acc-1", "usr-carol", "carol", "carol-secret", "Carol", "+3222222223")
    credentials = MemoryCredentialStore([bob, carol])
    dial_plan = MemoryDialPlan(credentials, carrier=CarrierTrunk("trunk-carrier", "127.0.0.2", 5060))
    dial_plan.numbers["+3223333333"] = UserDestination("usr-bob", "acc-1", ("dev-bob",))
    dial_plan.numbers["+3224444444"] = UserDestination("usr-carol", "acc-1", ("dev-carol",))
    bindings = MemoryBindingStore()
    await binding(bindings, "dev-bob", "bob", options.bob_port)
    await binding(bindings, "dev-carol", "carol", options.carol_port)
    settings = SipSettings(
        listen_port=options.port,
        transports=("UDP",),
        cdr_batch_size=500,
        security=SecuritySettings(rate_per_s=0),
    )
    server = SipServer(
        settings,
        credentials=credentials,
        dial_plan=dial_plan,
        bindings=bindings,
        policy=DialPlanPolicy(),
        cdr_sink=MemoryCdrSink(),
    )
    recordings = BenchRecordings(Path(options.recordings), options.record_every)
    media = SipMediaSettings(
        engine="embedded",
        always_anchor=True,
        port_min=options.port_min,
        port_max=options.port_min + 9999,
        forwarder_processes=options.forwarders,
    )
    plane = MediaPlane.attach(server, media, recordings)
    await plane.start()
    await server.start()
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    dumps: set[asyncio.Task[None]] = set()
    if options.dump and isinstance(plane.engine, EmbeddedMediaEngine):
        engine = plane.engine

        def on_usr1() -> None:
            task = loop.create_task(dump(engine, Path(options.dump)))
            dumps.add(task)
            task.add_done_callback(dumps.discard)

        loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    print("ready", flush=True)
    await stop.wait()
    await server.stop(grace_s=1)
    await plane.stop()
    stored = [{"bytes": r.bytes_stored, "seconds": r.duration_s} for r in recordings.stored_]
    print(json.dumps({"recordings": stored}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bob-port", type=int, required=True)
    parser.add_argument("--carol-port", type=int, required=True)
    parser.add_argument("--recordings", required=True)
    parser.add_argument("--record-every", type=int, default=10)
    parser.add_argument("--port-min", type=int, default=40000)
    parser.add_argument("--forwarders", type=int, default=1, help="[sip.media] forwarder_processes")
    parser.add_argument("--nice", type=int, default=0, help="niceness of its own scheduling group")
    parser.add_argument("--dump", default="", help="on SIGUSR1, every session's legs to this file (JSON)")
    options = parser.parse_args()
    if options.nice:
        os.setsid()  # a session, so an autogroup, of its own: its CPU share is not the load's
        Path("/proc/self/autogroup").write_text(str(options.nice))
        os.nice(options.nice)
    logging.basicConfig(level=logging.WARNING)
    install_uvloop()
    asyncio.run(main(options))
