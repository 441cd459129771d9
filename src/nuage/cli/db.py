"""``nuage db``: the database schema."""

from __future__ import annotations

import typer

from nuage.cli.common import DatabaseUrl, DataDir, command_settings, open_platform

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create or migrate the database schema to the newest version."""
    config = command_settings(data_dir, database_url)
    platform = open_platform(config)
    try:
        typer.echo(f"database at {platform.database_label} is up to date")
    finally:
        platform.close()
