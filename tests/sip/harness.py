"""Helpers of the SIP tests: free ports, the lab accounts, a SIPp runner."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from netports import bind_race_lost, free_port
from nuage.sip import SipServer, SipSettings
from nuage.sip.digest import authorization_header
from nuage.sip.memory import MemoryBindingStore, MemoryCdrSink, MemoryCredentialStore, MemoryDialPlan
from nuage.sip.message import SipParseError, SipRequest, SipResponse, parse_message
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import CarrierTrunk, SipAccount, UserDestination
from nuage.sip.routing import CallRouting
from waiting import wait_for_condition

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP = shutil.which("sipp")
BARESIP = shutil.which("baresip")

needs_sipp = pytest.mark.skipif(SIPP is None, reason="SIPp (sip-tester) is not installed")
needs_baresip = pytest.mark.skipif(BARESIP is None, reason="baresip is not installed")


ALICE = SipAccount("dev-alice", "acc-1", "usr-alice", "alice", "alice-secret", "Alice", "+3221111111")
BOB = SipAccount("dev-bob", "acc-1", "usr-bob", "bob", "bob-secret", "Bob", "+3222222222")
BOB_DESK = SipAccount("dev-bob-desk", "acc-1", "usr-bob", "bobdesk", "desk-secret", "Bob desk", None)
DOOR = SipAccount("dev-door", "acc-1", None, "door", "door-secret", "Door", None)


@dataclass
class Lab:
    """A running server and its in-memory ports."""

    server: SipServer
    credentials: MemoryCredentialStore
    dial_plan: MemoryDialPlan
    bindings: MemoryBindingStore
    cdrs: MemoryCdrSink
    carrier_port: int

    @property
    def port(self) -> int:
        return self.server.bound_address("UDP").port

    async def flush_cdrs(self) -> None:
        await self.server.cdr_writer.flush()


def make_lab_parts(carrier_port: int) -> tuple[MemoryCredentialStore, MemoryDialPlan]:
    credentials = MemoryCredentialStore([ALICE, BOB, BOB_DESK, DOOR])
    carrier = CarrierTrunk("trunk-carrier", "127.0.0.2", carrier_port)
    dial_plan = MemoryDialPlan(credentials, carrier=carrier, users={"200": "usr-bob", "100": "usr-alice"})
    dial_plan.numbers["+3223333333"] = UserDestination("usr-bob", "acc-1", ("dev-bob", "dev-bob-desk"))
    return credentials, dial_plan


def lab_server(
    credentials: MemoryCredentialStore,
    dial_plan: MemoryDialPlan,
    cdrs: MemoryCdrSink | None = None,
    routing: CallRouting | None = None,
) -> SipServer:
    """A SIP server on the in-memory ports (not started; UDP on a free port), with short timers
    (T1 100 ms, T2 400 ms) and CDRs flushed every 50 ms, as the media tests' labs want it."""
    return SipServer(
        SipSettings(listen_port=0, t1_s=0.1, t2_s=0.4, cdr_flush_interval_ms=50),
        credentials=credentials,
        dial_plan=dial_plan,
        bindings=MemoryBindingStore(),
        policy=DialPlanPolicy(),
        cdr_sink=cdrs if cdrs is not None else MemoryCdrSink(),
        routing=routing,
    )


@dataclass
class SippResult:
    returncode: int
    output: str


async def run_sipp(
    scenario: str | Path,
    target: str,
    *,
    port: int,
    args: Sequence[str] = (),
    timeout: float = 30.0,
    ip: str = "127.0.0.1",
) -> SippResult:
    """Run SIPp (as its own process, so the server keeps running in this loop)."""
    path = scenario if isinstance(scenario, Path) else SCENARIOS / scenario
    result = await _run_sipp_once(path, target, port=port, args=args, timeout=timeout, ip=ip)
    if result.returncode != 0 and bind_race_lost(result.output):
        # another process bound a probed control or media port first: once more, with new ones
        result = await _run_sipp_once(path, target, port=port, args=args, timeout=timeout, ip=ip)
    return result


async def _run_sipp_once(
    path: Path, target: str, *, port: int, args: Sequence[str], timeout: float, ip: str
) -> SippResult:
    assert SIPP is not None
    command = [
        SIPP,
        "-sf",
        str(path),
        "-i",
        ip,
        "-p",
        str(port),
        "-cp",
        str(free_port()),
        "-mp",
        str(free_port(span=4)),
        "-nostdin",
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        "-max_recv_loops",
        "100",
        "-trace_err",
        "-error_file",
        "/dev/stderr",
        *args,
        *_auth_uri(path, args, target),
    ]
    if target:
        command.append(target)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout + 10)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
    except BaseException:
        # cancelled (a test that failed before awaiting its SIPp): no SIPp, nor its pipes, outlives
        # the loop; a transport left open would fail in a later test, when collected
        if process.returncode is None:
            process.kill()
        await process.communicate()
        raise
    return SippResult(
        process.returncode if process.returncode is not None else -1, output.decode(errors="replace")
    )


def udp_port_bound(port: int) -> bool:
    """Whether some socket of this machine is bound to UDP ``port`` (read from /proc/net/udp).

    Reading the kernel's table never takes the port itself, unlike a probing bind that could make
    the SIPp it waits for lose its bind.
    """
    suffix = f":{port:04X}"
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:  # no procfs: probe by binding
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return True
        return False
    return any(line.split()[1].endswith(suffix) for line in lines if len(line.split()) > 1)


async def sipp_listening(task: asyncio.Task[Any], port: int) -> None:
    """Wait until the SIPp that ``task`` runs listens on UDP ``port`` (or has ended: its result says why).

    SIPp signals no readiness; once its socket is bound, what is sent to it waits in the kernel.
    """
    await wait_for_condition(
        lambda: task.done() or udp_port_bound(port), timeout=30, what=f"SIPp listening on UDP port {port}"
    )


def _auth_uri(path: Path, args: Sequence[str], target: str) -> list[str]:
    """SIPp answers a challenge with the digest ``uri`` sip:host:port unless told; the server wants
    the Request-URI (a digest is bound to what it authorizes): sip:[service]@target for calls
    (the REGISTER scenarios' Request-URI is sip:host:port already)."""
    if path.name.startswith("register") or "-s" not in args or "-auth_uri" in args or not target:
        return []
    return ["-auth_uri", f"{args[args.index('-s') + 1]}@{target}"]


async def register_with_sipp(
    lab: Lab, username: str, password: str, port: int, *, expires: int = 300
) -> SippResult:
    """Register ``username`` with contact 127.0.0.1:port using SIPp and the register scenario."""
    scenario = SCENARIOS / "register.xml"
    if expires != 300:
        text = scenario.read_text().replace("Expires: 300", f"Expires: {expires}")
        scenario = Path(tempfile.gettempdir()) / f"nuage-register-{os.getpid()}-{port}-{expires}.xml"
        scenario.write_text(text)
    return await run_sipp(
        scenario,
        f"127.0.0.1:{lab.port}",
        port=port,
        args=["-s", username, "-au", username, "-ap", password, "-m", "1"],
    )


class RawUdpPhone:
    """A bare UDP socket that sends hand-written SIP and reads what comes back (for edge cases)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for attempt in range(20):  # a free port may be taken by another process before the bind
            self.port = free_port()
            try:
                self.sock.bind(("127.0.0.1", self.port))
                break
            except OSError as error:
                if error.errno != errno.EADDRINUSE or attempt == 19:
                    self.sock.close()
                    raise
        self.sock.setblocking(False)
        self._cseq: dict[str, int] = {}  # Call-ID -> the CSeq number of the last request sent on it

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes | str, port: int) -> None:
        raw = data.encode() if isinstance(data, str) else data
        with contextlib.suppress(SipParseError):
            message = parse_message(raw)
            if isinstance(message, SipRequest):
                self._cseq[message.call_id] = message.cseq.number
        self.sock.sendto(raw, ("127.0.0.1", port))

    def _stale_challenge(self, message: SipResponse) -> bool:
        """A retransmitted 401/407 of a request already answered with credentials (its ACK had
        its own branch, so the server's transaction may resend the challenge once more)."""
        sent = self._cseq.get(message.call_id)
        return message.status in (401, 407) and sent is not None and message.cseq.number < sent

    async def receive(self, timeout: float = 2.0) -> bytes:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.sock_recv(self.sock, 65535), timeout)

    async def incoming_request(self, timeout: float = 2.0) -> SipRequest:
        """The next request (responses are skipped)."""
        while True:
            message = parse_message(await self.receive(timeout))
            if isinstance(message, SipRequest):
                return message

    async def register(
        self, server_port: int, user: str, password: str, *, expires: int = 300, cseq: int = 1
    ) -> int:
        """REGISTER with digest; return the final status."""
        uri = f"sip:127.0.0.1:{server_port}"
        self.send(
            self.request("REGISTER", uri, user=user, cseq=cseq, headers=[("Expires", str(expires))]),
            server_port,
        )
        challenge = await self.response(timeout=10.0)  # expected: a loaded machine gets its time
        assert challenge.status == 401
        auth = authorization_header(
            challenge.headers.get("www-authenticate") or "",
            username=user,
            password=password,
            method="REGISTER",
            uri=uri,
        )
        headers = [("Expires", str(expires)), ("Authorization", auth)]
        self.send(self.request("REGISTER", uri, user=user, cseq=cseq + 1, headers=headers), server_port)
        return (await self.response(timeout=10.0)).status

    async def response(self, timeout: float = 2.0, *, skip_provisional: bool = True) -> SipResponse:
        """The next response (100 Trying skipped)."""
        while True:
            message = parse_message(await self.receive(timeout))
            assert isinstance(message, SipResponse), message
            if (skip_provisional and message.status == 100) or self._stale_challenge(message):
                continue
            return message

    def request(
        self,
        method: str,
        uri: str,
        *,
        call_id: str = "raw-call-1",
        cseq: int = 1,
        user: str = "alice",
        to_user: str | None = None,
        to_tag: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        body: str = "",
    ) -> str:
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(6)};rport",
            "Max-Forwards: 70",
            f"From: <sip:{user}@nuage.local>;tag=raw{self.port}",
            f"To: <sip:{to_user or user}@nuage.local>" + (f";tag={to_tag}" if to_tag else ""),
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{user}@127.0.0.1:{self.port}>",
            *(f"{name}: {value}" for name, value in headers),
            f"Content-Length: {len(body.encode())}",
            "",
            body,
        ]
        return "\r\n".join(lines)
