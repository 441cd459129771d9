"""``nuage emergency-numbers``: the urgent short numbers that always go through (EMG-4)."""

from __future__ import annotations

from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, operator_session
from nuage.services import emergency

emergency_app = typer.Typer(
    help="EMG-4: the emergency numbers (112, 100, 101 and the operator's).", no_args_is_help=True
)


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
