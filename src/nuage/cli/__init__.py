"""The ``nuage`` command: one subcommand per job a person runs, one module per command group."""

from __future__ import annotations

import sys

import typer

from nuage.cli.applications import conferences_app, menus_app, schedules_app
from nuage.cli.audit import audit_app
from nuage.cli.billing import billing_app
from nuage.cli.calls import calls_app
from nuage.cli.contracts import contracts_app
from nuage.cli.db import db_app
from nuage.cli.demo import demo
from nuage.cli.dunning import dunning_app
from nuage.cli.emergency import emergency_app
from nuage.cli.invoices import invoices_app
from nuage.cli.payments import payments_app
from nuage.cli.plans import plans_app
from nuage.cli.routing import forwarding_app, ring_groups_app
from nuage.cli.serve import serve
from nuage.cli.sip import sip_app
from nuage.cli.sounds import sounds_app
from nuage.cli.support import support_app
from nuage.cli.tariffs import tariffs_app
from nuage.cli.voicemail import voicemail_app
from nuage.config import ConfigError

app = typer.Typer(help="Nuage: cloud business telephony run end to end.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(billing_app, name="billing")
app.add_typer(calls_app, name="calls")
app.add_typer(contracts_app, name="contracts")
app.add_typer(emergency_app, name="emergency-numbers")
app.add_typer(forwarding_app, name="forwarding")
app.add_typer(ring_groups_app, name="ring-groups")
app.add_typer(invoices_app, name="invoices")
app.add_typer(payments_app, name="payments")
app.add_typer(dunning_app, name="dunning")
app.add_typer(tariffs_app, name="tariffs")
app.add_typer(voicemail_app, name="voicemail")
app.add_typer(plans_app, name="plans")
app.add_typer(support_app, name="support")
app.add_typer(schedules_app, name="schedules")
app.add_typer(menus_app, name="menus")
app.add_typer(conferences_app, name="conferences")
app.command()(demo)
app.command()(serve)
app.add_typer(sip_app, name="sip")
app.add_typer(sounds_app, name="sounds")


def main() -> None:
    """Console entry point; settings that cannot be loaded end it with one line, not a traceback."""
    try:
        app()
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
