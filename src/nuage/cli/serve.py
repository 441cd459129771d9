"""``nuage serve`` and ``nuage sip``: the platform's long-running processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from nuage.bootstrap import Platform, SipRuntime
from nuage.cli.common import DatabaseUrl, DataDir, address, command_settings, fail, open_platform
from nuage.cli.contracts import daily_contract_job
from nuage.cli.janus_embedded import print_demo, start_janus, wire_sip
from nuage.cli.support_mail import SupportMailRuntime, start_support_mail
from nuage.cli.telavox_job import telavox_job, upstream_of
from nuage.sip import NATIVE_BUILD, install_uvloop, tune_gc
from nuage.sip.loop_lag import LoopLagProbe
from nuage.sip.tls_certs import CertificateError, CertificatePair, fingerprint

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI


def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    http: Annotated[
        str | None, typer.Option("--http", help="HOST:PORT for the web server (default 127.0.0.1:8080).")
    ] = None,
    sip: Annotated[
        str | None,
        typer.Option("--sip", help="HOST:PORT for SIP, UDP and TCP (default 127.0.0.1:5060); TLS on PORT+1."),
    ] = None,
    no_sip: Annotated[bool, typer.Option("--no-sip", help="Run the web server only.")] = False,
) -> None:
    """Run the platform: web (health, portal, API) and the SIP data plane, in one process."""
    settings = command_settings(data_dir, database_url)
    http_address = address(http, "--http")
    sip_address = address(sip, "--sip")
    if http_address:
        settings.http.host, settings.http.port = http_address
    if sip_address:
        settings.sip.host, settings.sip.port = sip_address
    if no_sip:
        settings.sip.enabled = False
    # the port first: a busy one ends the command in one line, before anything is opened or migrated
    listening = _listen(settings.http.host, settings.http.port)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        platform = open_platform(settings)
        try:
            install_uvloop()  # process-wide: only this entry point sets the loop policy
            asyncio.run(_serve(platform, listening))
        finally:
            platform.close()
    finally:
        listening.close()


def _listen(host: str, port: int) -> socket.socket:
    """The web server's socket, bound; an address in use (or not this machine's) ends the command."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise fail(f"--http {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise fail(
            f"the web server cannot listen on {host}:{port}: {exc.strerror or exc}\n"
            "       stop what uses it, or choose another address with --http HOST:PORT"
        ) from None
    return sock


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _start_sip(platform: Platform) -> SipRuntime:
    runtime = SipRuntime(platform)
    try:
        await runtime.start()
    except CertificateError as exc:
        raise fail(f"bad setting sip.tls: {exc}") from None
    except OSError as exc:
        sip = platform.settings.sip
        raise fail(
            f"SIP could not listen on {sip.host}:{sip.port}: {exc.strerror or exc}\n"
            "       stop what uses it, or choose another address with --sip HOST:PORT"
        ) from None
    # process-wide, so here at the entry point: what exists once the directory and bindings are
    # loaded is frozen out of every later collection, and young collections are rarer
    tune_gc()
    report_s = platform.settings.sip.loop_lag_report_s
    if report_s:  # issue #22: the event loop's lateness, logged for the benchmark
        LoopLagProbe(report_s).start()
    bound = runtime.server.bound_address("UDP")
    typer.echo(
        f"Softphone: register to sip:{bound.host}:{bound.port} (UDP or TCP), "
        f"domain {platform.settings.sip.realm}; demo accounts: `nuage demo` lists them "
        "(e.g. alice / Alice-Demo-2026)"
    )
    typer.echo(NATIVE_BUILD.describe())
    if runtime.certificate is not None:
        await _print_tls(runtime, runtime.certificate)
    return runtime


async def _print_tls(runtime: SipRuntime, certificate: CertificatePair) -> None:
    """Where SIP over TLS listens, and the certificate a phone will be shown (to trust or pin)."""
    bound = runtime.server.bound_address("TLS")
    kind = "self-signed demo certificate" if certificate.generated else "certificate"
    digest = await asyncio.to_thread(fingerprint, certificate.certificate)
    typer.echo(
        f"SIP over TLS: sip:{bound.host}:{bound.port};transport=tls (SRTP keys only here); "
        f"{kind} {certificate.certificate}, SHA-256 {digest}"
    )


async def _serve(platform: Platform, listening: socket.socket) -> None:
    import uvicorn

    class _WebServer(uvicorn.Server):
        """Uvicorn without its own signal handlers: this process stops web and SIP together."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    from nuage.web.app import create_app

    settings = platform.settings
    tls = settings.http.tls
    for what, path in (("certificate", tls.certificate), ("key", tls.key)):
        if path is not None and not path.is_file():
            raise fail(f"http.tls.{what}: no such file {path}; give the PEM file, or leave TLS out")
    password = tls.key_password.get_secret_value() if tls.key_password else None
    janus = await start_janus(platform)  # before the app: its pages read ``[janus]``
    try:
        await _run(platform, listening, create_app(platform), _WebServer, password, janus=janus is not None)
    finally:
        if janus is not None:
            await janus.stop()
            typer.echo("Janus stopped.")


async def _run(
    platform: Platform,
    listening: socket.socket,
    app: FastAPI,
    web_server: type[uvicorn.Server],
    password: str | None,
    *,
    janus: bool,
) -> None:
    """The web server, SIP and the jobs, until SIGINT or SIGTERM."""
    import uvicorn

    settings = platform.settings
    tls = settings.http.tls
    config = uvicorn.Config(
        app,
        host=settings.http.host,
        port=settings.http.port,
        log_level="warning",
        lifespan="on",
        ssl_certfile=str(tls.certificate) if tls.certificate else None,
        ssl_keyfile=str(tls.key) if tls.key else None,
        ssl_keyfile_password=password,
    )
    if tls.enabled:
        try:
            config.load()  # builds the TLS context now, so that a bad file is one line, not a traceback
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: a wrong key, a bad PEM file
            raise fail(f"HTTPS cannot start with http.tls.certificate and http.tls.key: {exc}") from exc
    server = web_server(config)
    stop = _stop_event()
    runtime = await _start_sip(platform) if settings.sip.enabled else None
    if janus:
        wire_sip(platform, runtime)
    daily = asyncio.create_task(daily_contract_job(platform))
    mail = await _start_mail(platform)
    provider = upstream_of(platform)
    telavox = asyncio.create_task(telavox_job(platform, provider)) if provider is not None else None
    try:
        web_task = asyncio.create_task(server.serve(sockets=[listening]))
        while not server.started:
            if web_task.done():
                await web_task
                raise fail(f"the web server could not start on {settings.http.host}:{settings.http.port}")
            await asyncio.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()
        scheme = "https" if tls.enabled else "http"
        typer.echo(
            f"Portal: {scheme}://{bound[0]}:{bound[1]}/login  (demo logins: `nuage demo` lists them, "
            "e.g. alice@dupont.example / Alice-Portal-2026; the operator's and partners' logins also "
            "ask for a TOTP code: `nuage demo` prints their secrets; health: /health)"
        )
        print_demo(platform, f"{scheme}://{bound[0]}:{bound[1]}")
        typer.echo(f"Data: {platform.database_label}. Nuage is running; stop with Ctrl-C.")
        await stop.wait()
        typer.echo("stopping: no new calls; current calls may end (10 s)...")
        app.state.portal.live.close()  # the pages' live streams end: the server waits for its answers
        server.should_exit = True
        await web_task
    finally:
        daily.cancel()
        if telavox is not None:
            telavox.cancel()
        await mail.stop()
        if runtime is not None:
            await runtime.stop()


async def _start_mail(platform: Platform) -> SupportMailRuntime:
    """SUP-1: the support address's listener and outbox, as ``[support]`` sets them."""
    try:
        mail = await start_support_mail(platform)
    except OSError as exc:
        raise fail(
            f"support e-mail cannot listen on {platform.settings.support.smtp_listen}: "
            f"{exc.strerror or exc}\n"
            "       stop what uses it, or set support.smtp_listen to another HOST:PORT"
        ) from None
    if mail.bound is not None:
        host, port = mail.bound
        typer.echo(
            f"Support e-mail: smtp://{host}:{port} accepts mail to {platform.settings.support.address}"
        )
    return mail


def sip_only(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    sip: Annotated[
        str | None,
        typer.Option("--sip", help="HOST:PORT for SIP, UDP and TCP (default 127.0.0.1:5060); TLS on PORT+1."),
    ] = None,
    grace: Annotated[
        float, typer.Option("--grace", help="Seconds current calls may go on at shutdown.")
    ] = 30.0,
) -> None:
    """Run the SIP data plane alone (registrar and B2BUA), without the web server."""
    settings = command_settings(data_dir, database_url)
    sip_address = address(sip, "--sip")
    if sip_address:
        settings.sip.host, settings.sip.port = sip_address
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    platform = open_platform(settings)

    async def run() -> None:
        stop = _stop_event()
        runtime = await _start_sip(platform)
        try:
            await stop.wait()
            typer.echo(f"stopping: no new calls; current calls may end ({grace:g} s)...")
        finally:
            await runtime.stop(grace)

    try:
        install_uvloop()  # process-wide: only this entry point sets the loop policy
        asyncio.run(run())
    finally:
        platform.close()
