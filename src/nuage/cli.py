"""The ``nuage`` command: one subcommand per job a person runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from nuage.bootstrap import Platform, SipRuntime, build_platform
from nuage.cli_billing import billing_app
from nuage.cli_common import DatabaseUrl, DataDir, fail, operator_session
from nuage.cli_payments import register as register_payments
from nuage.config import Settings, load_settings, parse_host_port
from nuage.errors import NuageError
from nuage.services import emergency
from nuage.services.demo import load_demo
from nuage.storage.sql.api_store import access_store

app = typer.Typer(help="Nuage: cloud business telephony run end to end.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(billing_app, name="billing")
emergency_app = typer.Typer(
    help="EMG-4: the emergency numbers (112, 100, 101 and the operator's).", no_args_is_help=True
)
app.add_typer(emergency_app, name="emergency-numbers")
register_payments(app)  # nuage invoices / payments / dunning


def _settings(data_dir: Path | None, database_url: str | None = None, **more: object) -> Settings:
    return load_settings(data_dir=data_dir, database_url=database_url, **more)


def _address(value: str | None, option: str) -> tuple[str, int] | None:
    if value is None:
        return None
    try:
        return parse_host_port(value)
    except ValueError as exc:
        raise fail(f"{option}: {exc}") from exc


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create or migrate the database schema to the newest version."""
    settings = _settings(data_dir, database_url)
    platform = build_platform(settings, migrate=True)
    try:
        typer.echo(f"database at {_redacted(settings.effective_database_url)} is up to date")
    finally:
        platform.close()


@emergency_app.command("list")
def emergency_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Every emergency number: the built-in ones, then those the operator added."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        for item in emergency.list_emergency_numbers(uow, ctx):
            added = "built in" if item.created_at is None else f"added {item.created_at:%Y-%m-%d}"
            typer.echo(f"{item.number:<16} {item.label}  ({added})")


@emergency_app.command("add")
def emergency_add(
    number: Annotated[str, typer.Argument(help="2 to 15 digits, e.g. 1733")],
    label: Annotated[str, typer.Argument(help="What it reaches, e.g. 'Doctor on duty'")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add an urgent short number; calls to it always go through (EMG-4)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        added = emergency.add_emergency_number(uow, ctx, number, label)
        uow.commit()
    typer.echo(f"{added.number} is an emergency number ({added.label})")


@emergency_app.command("remove")
def emergency_remove(
    number: Annotated[str, typer.Argument(help="A number the operator added (not 112, 100 or 101)")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a short number the operator added; 112, 100 and 101 always stay (EMG-4)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        emergency.remove_emergency_number(uow, ctx, number)
        uow.commit()
    typer.echo(f"{number} is no longer an emergency number")


@app.command()
def demo(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Load the demo tenancy (idempotent): an operator, two partners, three customers, phones."""
    platform = build_platform(_settings(data_dir, database_url), migrate=True)
    try:
        with platform.uow() as uow:
            summary = load_demo(uow, platform.clock, access_store(uow))
    except NuageError as exc:
        raise fail(f"{exc.error_id}: {exc}") from exc
    finally:
        platform.close()
    typer.echo(f"demo data ready ({summary.created} items created; running it again creates none)")
    typer.echo("SIP accounts (realm: any; register to the SIP address `nuage serve` prints):")
    for phone in summary.phones:
        numbers = ", ".join(phone.numbers) or "-"
        typer.echo(
            f"  {phone.customer:<18} {phone.user:<14} "
            f"user={phone.username:<6} password={phone.password:<16} {numbers}"
        )
    typer.echo(f"carrier gateway (outbound calls, inbound DIDs): {summary.carrier}")
    if summary.hot_desk_pins:
        typer.echo(
            f"hot-desk PINs (on {summary.hot_desk!r} dial *11*<extension>*<PIN> to log in, *12 to log out):"
        )
        for name, extension, pin in summary.hot_desk_pins:
            typer.echo(f"  {name:<14} extension={extension:<4} PIN={pin}")
    typer.echo("portal logins (API: POST /api/v1/oauth/token grant_type=password):")
    for login in summary.logins:
        typer.echo(f"  {login.who:<44} {login.email:<30} password={login.password}")
    typer.echo("API clients (POST /api/v1/oauth/token grant_type=client_credentials):")
    for client in summary.api_clients:
        typer.echo(
            f"  {client.account:<24} client_id={client.client_id:<14} client_secret={client.client_secret}"
        )


@app.command()
def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    http: Annotated[
        str | None, typer.Option("--http", help="HOST:PORT for the web server (default 127.0.0.1:8080).")
    ] = None,
    sip: Annotated[
        str | None, typer.Option("--sip", help="HOST:PORT for SIP, UDP and TCP (default 127.0.0.1:5060).")
    ] = None,
    no_sip: Annotated[bool, typer.Option("--no-sip", help="Run the web server only.")] = False,
) -> None:
    """Run the platform: web (health, overview, API) and the SIP data plane, in one process."""
    settings = _settings(data_dir, database_url)
    http_address = _address(http, "--http")
    sip_address = _address(sip, "--sip")
    if http_address:
        settings.http.host, settings.http.port = http_address
    if sip_address:
        settings.sip.host, settings.sip.port = sip_address
    if no_sip:
        settings.sip.enabled = False
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    platform = build_platform(settings, migrate=True)
    try:
        _install_uvloop()
        asyncio.run(_serve(platform))
    finally:
        platform.close()


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional: plain asyncio works, a third slower on SIP
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


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
    except OSError as exc:
        sip = platform.settings.sip
        raise fail(f"SIP could not listen on {sip.host}:{sip.port}: {exc.strerror or exc}") from exc
    address = runtime.server.bound_address("UDP")
    typer.echo(
        f"Softphone: register to sip:{address.host}:{address.port} (UDP or TCP), "
        f"domain {platform.settings.sip.realm}; demo accounts: `nuage demo` lists them "
        "(e.g. alice / Alice-Demo-2026)"
    )
    return runtime


async def _serve(platform: Platform) -> None:
    import uvicorn

    class _WebServer(uvicorn.Server):
        """Uvicorn without its own signal handlers: this process stops web and SIP together."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    from nuage.web.app import create_app

    settings = platform.settings
    config = uvicorn.Config(
        create_app(platform),
        host=settings.http.host,
        port=settings.http.port,
        log_level="warning",
        lifespan="on",
    )
    server = _WebServer(config)
    stop = _stop_event()
    runtime = await _start_sip(platform) if settings.sip.enabled else None
    try:
        web_task = asyncio.create_task(server.serve())
        while not server.started:
            if web_task.done():
                await web_task
                raise fail(f"the web server could not start on {settings.http.host}:{settings.http.port}")
            await asyncio.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()
        typer.echo(f"Browser: http://{bound[0]}:{bound[1]}/  (health: /health)")
        typer.echo(f"Data: {_redacted(settings.effective_database_url)}. Nuage is running; stop with Ctrl-C.")
        await stop.wait()
        typer.echo("stopping: no new calls; current calls may end (10 s)...")
        server.should_exit = True
        await web_task
    finally:
        if runtime is not None:
            await runtime.stop()


@app.command("sip")
def sip_only(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    sip: Annotated[
        str | None, typer.Option("--sip", help="HOST:PORT for SIP, UDP and TCP (default 127.0.0.1:5060).")
    ] = None,
    grace: Annotated[
        float, typer.Option("--grace", help="Seconds current calls may go on at shutdown.")
    ] = 30.0,
) -> None:
    """Run the SIP data plane alone (registrar and B2BUA), without the web server."""
    settings = _settings(data_dir, database_url)
    sip_address = _address(sip, "--sip")
    if sip_address:
        settings.sip.host, settings.sip.port = sip_address
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    platform = build_platform(settings, migrate=True)

    async def run() -> None:
        stop = _stop_event()
        runtime = await _start_sip(platform)
        try:
            await stop.wait()
            typer.echo(f"stopping: no new calls; current calls may end ({grace:g} s)...")
        finally:
            await runtime.stop(grace)

    try:
        _install_uvloop()
        asyncio.run(run())
    finally:
        platform.close()


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Console entry point."""
    app()
