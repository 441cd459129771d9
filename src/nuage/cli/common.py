"""What every ``nuage`` subcommand shares: its options, its error exit, the operator's session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, overload

import typer

from nuage.bootstrap import Platform, build_platform
from nuage.config import ConfigError, Settings, load_settings, parse_host_port
from nuage.errors import NuageError, UpstreamUnavailable
from nuage.services.context import Context
from nuage.tenancy.model import PartyKind

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="NUAGE_DATA_DIR", help="Where the SQLite file and other state live."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="NUAGE_DATABASE_URL", help="PostgreSQL URL; default: SQLite in the data dir."
    ),
]


def described(exc: NuageError) -> str:
    """One line for an error of the terms: its id, the rule that said no (if one did), the message."""
    rule = exc.details.get("rule_id")
    return f"{exc.error_id}{f' ({rule})' if rule else ''}: {exc}"


@overload
def day_option(text: str, option: str) -> date: ...
@overload
def day_option(text: str | None, option: str) -> date | None: ...
def day_option(text: str | None, option: str) -> date | None:
    """A ``YYYY-MM-DD`` option, or None when not given; a bad one ends the command naming the format."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error; the caller raises the returned exit (code 2)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


@contextmanager
def operator_session(data_dir: Path | None, database_url: str | None) -> Iterator[tuple[Platform, Context]]:
    """The migrated platform and the operator's context; errors of the terms end the command cleanly."""
    platform = open_platform(command_settings(data_dir, database_url))
    try:
        with platform.uow() as uow:
            operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        if operator is None:
            raise fail("no operator yet: run `nuage demo` (or create the operator) first")
        yield platform, Context.operator(operator.id, platform.clock)
    except NuageError as exc:
        raise fail(described(exc)) from exc
    finally:
        platform.close()


def open_platform(settings: Settings) -> Platform:
    """The platform, its database migrated; a database that cannot be reached ends the command."""
    try:
        return build_platform(settings, migrate=True)
    except UpstreamUnavailable as exc:
        hint = "is the database server running? Start it, or give another --database-url (NUAGE_DATABASE_URL)"
        raise fail(f"{exc}\n       {hint}") from None
    except NuageError as exc:
        raise fail(described(exc)) from None


def command_settings(data_dir: Path | None, database_url: str | None = None, **more: object) -> Settings:
    """The settings of a command: its flags over the environment, the config file and the defaults; a
    key no setting has, or a bad value, ends the command with one line naming it."""
    try:
        return load_settings(data_dir=data_dir, database_url=database_url, **more)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def write_file(path: Path, data: bytes) -> None:
    """Write a file the command was asked for; a folder that does not exist (or any other refusal of
    the file system) ends the command with one line."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise fail(f"cannot write {path}: {exc.strerror or exc} (does its folder exist?)") from None


def address(value: str | None, option: str) -> tuple[str, int] | None:
    """``HOST:PORT`` from an option, or None when the option is not given; a bad one ends the command."""
    if value is None:
        return None
    try:
        return parse_host_port(value)
    except ValueError as exc:
        raise fail(f"{option}: {exc}") from exc
