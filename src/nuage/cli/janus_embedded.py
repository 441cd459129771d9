"""``nuage serve``'s Janus (MTG-1): with no ``[janus] url``, the ``janus`` binary installed and
``[janus] embedded`` on (the default), Nuage runs the gateway itself on loopback, configured under the
data directory (``janus/``), and wires ``[janus]`` to it: its URL, a random video-room admin key and,
once SIP listens, ``sip_proxy`` pointing at Nuage's own SIP listener. One server per data directory
runs it (a lock on the folder); another on the same directory runs none. Also the demo's browser side:
where its meeting room, shop page and browser phone are, printed with the server's address.
"""

from __future__ import annotations

import secrets
import socket

import typer
from pydantic import SecretStr

from nuage.adapters.janus_process import JanusConfig, JanusProcess, find_janus, modules_folder
from nuage.bootstrap import Platform, SipRuntime
from nuage.services.demo_webrtc import (
    PHONE_CALLS,
    PHONE_LOGIN,
    SHOP_PATH,
    find_webrtc_demo,
    point_shop_at,
)

OFF = "Web Meeting and browser calls are off"


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_janus(platform: Platform) -> JanusProcess | None:
    """The embedded Janus, started (it answers a moment later), with ``[janus]`` pointing at it; None
    (and a line saying why) when ``[janus]`` names a gateway, is turned off, Janus is not installed,
    or another server on this data directory runs it."""
    settings = platform.settings
    config = settings.janus
    if config.url is not None:
        typer.echo(f"Janus: {config.url} ([janus] url)")
        return None
    if not config.embedded:
        typer.echo(f"Janus: not run ([janus] embedded = false, no url): {OFF}")
        return None
    binary = find_janus()
    if binary is None:
        typer.echo(f"Janus: not installed (the Debian package janus): {OFF}")
        return None
    folder = settings.data_dir.resolve() / "janus"
    admin_key = secrets.token_urlsafe(24)
    wanted = JanusConfig(
        folder=folder / "etc",
        port=config.embedded_port or _free_loopback_port(),
        admin_key=admin_key,
        modules=modules_folder(binary),
    )
    process = JanusProcess(binary, wanted, folder / "janus.log")
    if not process.claim():
        typer.echo(f"Janus: another nuage serve on this data directory runs it ({folder}): {OFF} here")
        return None
    await process.start()  # it answers a moment later: nothing here waits on it
    config.url = wanted.url  # the routers hold this object: change it, never replace it
    config.admin_key = SecretStr(admin_key)
    typer.echo(
        f"Janus: run by Nuage at {wanted.url} (pid {process.pid}; configuration and log in {folder}; "
        "supervised, stopped with Nuage)"
    )
    return process


def wire_sip(platform: Platform, runtime: SipRuntime | None) -> None:
    """The embedded Janus's SIP plugin registers browser phones to this process's SIP listener."""
    config = platform.settings.janus
    if runtime is None or config.sip_proxy is not None:
        return
    bound = runtime.server.bound_address("UDP")
    host = "127.0.0.1" if bound.host in ("0.0.0.0", "::", "") else bound.host
    config.sip_proxy = f"sip:{host}:{bound.port}"


def print_demo(platform: Platform, base: str) -> None:
    """The demo's browser side, when ``nuage demo --webrtc`` loaded it: the meeting room's join page
    and PIN, the demo shop page (its widget now answers this server's origin), the browser phone."""
    with platform.uow() as uow:
        demo = find_webrtc_demo(uow)
        if demo is None:
            return
        point_shop_at(uow, demo, base)
    email, password = PHONE_LOGIN
    typer.echo(
        f"Web Meeting demo room: {base}/meet/{demo.room_id}  (PIN {demo.room_pin}; paid, BIL-6)\n"
        f"Demo shop with the click-to-call widget: {base}{SHOP_PATH}\n"
        f"Browser phone: {base}/softphone  (log in as {email} / {password}; dial {PHONE_CALLS}, Bob)"
    )
