"""``nuage serve`` as the demo runs it: SIP over TLS on the SIP port + 1 with a self-signed
certificate made under the data directory, printed at start, that a phone can trust and register over."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netports import free_port
from nuage.cli import app
from sip.tls_phone import TlsPhone

pytestmark = pytest.mark.slow

_TLS_LINE = re.compile(
    r"SIP over TLS: sip:127\.0\.0\.1:(\d+);transport=tls .*certificate (\S+), SHA-256 ([0-9A-F:]+)"
)


async def test_serve_listens_for_tls_with_the_demo_certificate_it_prints(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert CliRunner().invoke(app, ["demo", "--data-dir", str(data)]).exit_code == 0
    sip_port = free_port()  # TLS takes the next one, kept free by the ports' guard band
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nuage",
        "serve",
        "--http",
        f"127.0.0.1:{free_port()}",
        "--sip",
        f"127.0.0.1:{sip_port}",
        # no Janus to start and stop (tests/webrtc/test_demo_serve.py checks the one serve runs)
        env={**os.environ, "NUAGE_DATA_DIR": str(data), "NUAGE_JANUS__EMBEDDED": "false"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(60):
            while (found := _TLS_LINE.search("".join(output))) is None:
                line = await process.stdout.readline()
                assert line, "".join(output)
                output.append(line.decode())
        port, certificate = int(found.group(1)), Path(found.group(2))
        assert port == sip_port + 1
        assert certificate == data / "tls" / "sip-tls.crt"
        phone = await TlsPhone.connect(port, certificate, "alice")
        try:
            registered = await phone.authenticated(
                "REGISTER", f"sip:127.0.0.1:{port}", "Alice-Demo-2026", call_id="tls-serve"
            )
        finally:
            phone.close()
        assert registered.status == 200
        assert ";transport=tls" in (registered.headers.get("contact") or "")
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            await process.communicate()
    assert process.returncode == 0, "".join(output)


def test_serve_refuses_a_certificate_it_cannot_load_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    env = {
        **os.environ,
        "NUAGE_DATA_DIR": str(tmp_path / "data"),
        "NUAGE_SIP__TLS__CERTIFICATE": str(missing),
        "NUAGE_SIP__TLS__KEY": str(tmp_path / "missing.key"),
        "NUAGE_JANUS__EMBEDDED": "false",  # no Janus started (and stopped) before SIP refuses to start
    }
    command = [sys.executable, "-m", "nuage", "serve", "--http", f"127.0.0.1:{free_port()}", "--sip"]
    done = subprocess.run(
        [*command, f"127.0.0.1:{free_port()}"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert f"error: bad setting sip.tls: cannot load {missing}" in done.stderr
