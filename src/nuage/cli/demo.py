"""``nuage demo``: the demo tenancy, its phones, logins and API clients."""

from __future__ import annotations

from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, command_settings, described, fail, open_platform
from nuage.errors import NuageError
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.demo_applications import load_applications_demo
from nuage.services.demo_webrtc import PHONE_CALLS, PHONE_LOGIN, SHOP_PATH, WebRtcDemo, load_webrtc_demo
from nuage.services.security.demo import seed_demo_factors
from nuage.services.security.second_factor import code_at


def demo(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    webrtc: Annotated[
        bool,
        typer.Option(
            "--webrtc",
            help="Also a paid Web Meeting room and the demo shop's click-to-call widget (they add an "
            "order invoice and a billed web channel to the demo's books).",
        ),
    ] = False,
) -> None:
    """Load the demo tenancy (idempotent): an operator, two partners, three customers, phones."""
    platform = open_platform(command_settings(data_dir, database_url))
    browser: WebRtcDemo | None = None
    try:
        with platform.uow() as uow:
            summary = load_demo(uow, platform.clock, uow.access)
        with platform.uow() as uow:
            applications = load_applications_demo(uow, platform.clock)
        with platform.uow() as uow:
            factors = seed_demo_factors(uow, platform.clock.now())
            uow.commit()
        if webrtc:
            with platform.uow() as uow:
                browser = load_webrtc_demo(
                    uow,
                    Context.operator("", platform.clock),
                    settings=platform.payments,
                    validator=platform.einvoice_validator,
                )
        with platform.uow() as uow:
            accounts = [(p.kind.value, p.name, p.id) for p in uow.parties.list(order_by=("kind", "name"))]
    except NuageError as exc:
        raise fail(described(exc)) from exc
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
    typer.echo(
        f"auto-attendant: dial {applications.number} (Atelier Dupont's phones); office hours or not, "
        f"key 1 joins the conference room, which is also extension {applications.room_extension} "
        f"(PIN {applications.room_pin}, moderator PIN {applications.moderator_pin})"
    )
    if browser is not None:
        _print_browser_demo(browser)
    if summary.hot_desk_pins:
        typer.echo(
            f"hot-desk PINs (on {summary.hot_desk!r} dial *11*<extension>*<PIN> to log in, *12 to log out):"
        )
        for name, extension, pin in summary.hot_desk_pins:
            typer.echo(f"  {name:<14} extension={extension:<4} PIN={pin}")
    typer.echo(
        "portal logins (browser: the portal address `nuage serve` prints, /login; "
        "API: POST /api/v1/oauth/token grant_type=password):"
    )
    for login in summary.logins:
        typer.echo(f"  {login.who:<44} {login.email:<30} password={login.password}")
    if factors:
        typer.echo(
            "second factor (TOTP, RFC 6238) of the operator and partner logins: add the secret to an "
            "authenticator app (or its otpauth URI as a QR code); the API's password grant takes "
            "the code as totp="
        )
        now = platform.clock.now()
        for factor in factors:
            typer.echo(
                f"  {factor.email:<30} secret={factor.secret}  (code now: {code_at(factor.secret, now)})"
            )
            typer.echo(f"  {'':<30} {factor.uri}")
    typer.echo("API clients (POST /api/v1/oauth/token grant_type=client_credentials):")
    for client in summary.api_clients:
        typer.echo(
            f"  {client.account:<24} client_id={client.client_id:<14} client_secret={client.client_secret}"
        )
    typer.echo("accounts (the ids the commands and the API take):")
    for kind, name, party_id in accounts:
        typer.echo(f"  {kind:<9} {name:<28} {party_id}")


def _print_browser_demo(browser: WebRtcDemo) -> None:
    """Where the browser side of the demo is (``nuage serve`` prints the full addresses)."""
    email, password = PHONE_LOGIN
    typer.echo(
        f"Web Meeting (paid, BIL-6): /meet/{browser.room_id} PIN {browser.room_pin}; "
        f"demo shop with the click-to-call widget (CFG-10, to Bob's number): {SHOP_PATH}; browser phone: "
        f"/softphone as {email} / {password}, dial {PHONE_CALLS} (Bob); "
        "`nuage serve` runs Janus for them"
    )
