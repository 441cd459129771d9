"""``nuage tariffs``: tariff versions per rating run, and a new version imported from a CSV (RAT-2).

nuage tariffs list --run customer-retail
nuage tariffs import --run customer-retail --version 2026-03 --csv tariff.csv --effective-from 2026-03-01

A version takes effect now (no ``--effective-from``) or at Brussels midnight of a later day; the
open-ended version is closed then. A CSV with any bad row is refused whole: every bad field is
listed (row, field, message), nothing is published and the command exits 1.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.rating.runs import RatingRun
from nuage.rating.tariff_csv import MAX_BYTES
from nuage.rating.tariffs import RateTerms, Tariff
from nuage.services.billing import tariffs
from nuage.shared.clock import business_midnight

tariffs_app = typer.Typer(help="Tariffs: versions per rating run, CSV import (RAT-2).", no_args_is_help=True)

CENTS = Decimal("0.01")
Run = Annotated[RatingRun, typer.Option("--run", help="The rating run (TEN-5).")]


def _start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return business_midnight(date.fromisoformat(text))
    except ValueError:
        raise fail(f"--effective-from: {text!r} is not a date (YYYY-MM-DD)") from None


def _amount(value: Decimal) -> str:
    """An amount with its significant decimals, at least two (0.05, 0.0125), whatever the store."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(CENTS)
    return f"{value:f}"


def _show(tariff: Tariff, *, rates: bool) -> None:
    end = "open-ended" if tariff.valid_to is None else f"until {tariff.valid_to.isoformat()}"
    typer.echo(f"  {tariff.version}: from {tariff.valid_from.isoformat()}, {end} (RAT-2)")
    if rates:
        for prefix, price in sorted(tariff.per_minute_by_prefix.items()):
            terms = tariff.terms_by_prefix.get(prefix, RateTerms())
            typer.echo(
                f"    {prefix:<15} {_amount(price)}/min, minimum {_amount(terms.minimum)}, "
                f"connection {_amount(terms.connection_fee)}  {terms.description}"
            )


@tariffs_app.command("list")
def list_versions(
    run: Run = RatingRun.CUSTOMER_RETAIL,
    rates: Annotated[bool, typer.Option("--rates", help="Show every prefix's prices.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """RAT-2: the run's tariff versions, oldest first."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        versions = tariffs.list_tariffs(uow, ctx, run.value)
    typer.echo(f"{run.value}: {len(versions)} version(s)")
    for tariff in versions:
        _show(tariff, rates=rates)


@tariffs_app.command("import")
def import_csv(
    version: Annotated[str, typer.Option("--version", help="The new version's name.")],
    csv: Annotated[Path, typer.Option("--csv", help="prefix,description,per_minute,minimum,connection_fee")],
    run: Run = RatingRun.CUSTOMER_RETAIL,
    effective_from: Annotated[
        str | None, typer.Option("--effective-from", help="YYYY-MM-DD (Brussels midnight); default: now.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """RAT-2: publish a tariff version from a CSV, whole or not at all."""
    start = _start(effective_from)
    try:
        if csv.stat().st_size > MAX_BYTES:
            raise fail(f"--csv: larger than {MAX_BYTES} bytes")
        text = csv.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"--csv: cannot read {csv.name}: {exc}") from None
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        tariff, parsed = tariffs.import_tariff(uow, ctx, run.value, version, text, effective_from=start)
    if tariff is None:
        for error in parsed.errors:
            typer.echo(f"row {error.row}, {error.field}: {error.message}", err=True)
        typer.secho(
            f"error: {len(parsed.errors)} error(s) in {csv.name}; nothing published (RAT-2)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(f"published {run.value} {tariff.version}: {len(tariff.per_minute_by_prefix)} prefixes")
    _show(tariff, rates=False)
