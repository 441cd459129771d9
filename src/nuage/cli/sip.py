"""``nuage sip``: the SIP data plane alone (no subcommand), and the SIP edge's bans (SIP-5).

``nuage sip bans list`` shows the source addresses the SIP edge drops and ``nuage sip bans lift
ADDRESS`` lets one in again; both read the store the SIP nodes keep their bans in (``sip.bans``:
the database, or Redis), so they work beside a running node: it follows within one sync.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.cli.serve import sip_only
from nuage.sip.ports import BanRecord

sip_app = typer.Typer(
    help="The SIP data plane: run it alone (no subcommand), or see and lift its bans.",
    invoke_without_command=True,
)
bans_app = typer.Typer(help="SIP-5: the source addresses the SIP edge bans.", no_args_is_help=True)
sip_app.add_typer(bans_app, name="bans")


@sip_app.callback()
def sip(
    ctx: typer.Context,
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
    if ctx.invoked_subcommand is None:
        sip_only(data_dir, database_url, sip, grace)


@bans_app.command("list")
def bans_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Every ban in force: address, until when (UTC), why; the longest remaining first."""
    with operator_session(data_dir, database_url) as (platform, _):

        async def read() -> list[BanRecord]:
            async with platform.ban_store() as store:
                return await store.active(platform.clock.now())

        try:
            bans = asyncio.run(read())
        except Exception as error:
            raise fail(
                f"upstream-unavailable: the store of the SIP bans cannot be reached ({error})"
            ) from None
    if not bans:
        typer.echo("no address is banned")
    for ban in bans:
        typer.echo(f"{ban.address:<39} until {ban.until:%Y-%m-%d %H:%M:%S}Z  {ban.reason}")


@bans_app.command("lift")
def bans_lift(
    address: Annotated[str, typer.Argument(help="The banned IPv4 or IPv6 address, e.g. 198.51.100.7")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Lift a ban: the address is served again (a running SIP node follows within seconds)."""
    try:
        address = str(ipaddress.ip_address(address[:45]))
    except ValueError:
        raise fail(f"invalid-input: {address[:45]!r} is not an IPv4 or IPv6 address") from None
    with operator_session(data_dir, database_url) as (platform, _):

        async def lift() -> bool:
            async with platform.ban_store() as store:
                return await store.lift(address, platform.clock.now())

        try:
            lifted = asyncio.run(lift())
        except Exception as error:
            raise fail(
                f"upstream-unavailable: the store of the SIP bans cannot be reached ({error})"
            ) from None
    if not lifted:
        raise fail(f"not-found: {address} is not banned")
    typer.echo(f"{address} is no longer banned")
