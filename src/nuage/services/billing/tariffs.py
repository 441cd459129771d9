"""Tariff versions (RAT-2): listed per rating run, published or scheduled, imported from a CSV.

A new version takes effect at an instant that is not in the past (now, or a later date): the
open-ended version in force is closed at that instant, so the book stays gapless and a call is
rated with the version in force at its start. Decision: no re-rating. Every call rated so far
started before the publication, so the new version never applies to it; cost records, and the
invoices citing them, are never touched. A call that started before the new version's start and
is rated later (a late CDR) is still priced with the older version, as RAT-2 wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.rating.runs import RatingRun
from nuage.rating.tariff_csv import TariffImport, parse_tariff_csv
from nuage.rating.tariffs import RateTerms, Tariff, TariffBook
from nuage.services.billing.common import require_operator
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.shared.clock import require_aware

MAX_VERSION = 64


def _run(run: str) -> RatingRun:
    try:
        return RatingRun(run)
    except ValueError:
        names = ", ".join(r.value for r in RatingRun)
        raise InvalidInput("run", f"Unknown rating run {run!r}: one of {names}") from None


def list_tariffs(uow: BillingUnitOfWork, ctx: Context, run: str) -> list[Tariff]:
    """RAT-2: a run's tariff versions, oldest first (operator only, like the prices they hold)."""
    require_operator(ctx)
    return uow.billing.tariffs(_run(run).value)


def get_tariff(uow: BillingUnitOfWork, ctx: Context, run: str, version: str) -> Tariff:
    """RAT-2: one tariff version of a run."""
    for tariff in list_tariffs(uow, ctx, run):
        if tariff.version == version:
            return tariff
    raise NotFound("tariff version", f"{run}/{version}")


def publish_tariff(
    uow: BillingUnitOfWork,
    ctx: Context,
    run: str,
    version: str,
    per_minute_by_prefix: Mapping[str, Decimal],
    *,
    effective_from: datetime | None = None,
    terms_by_prefix: Mapping[str, RateTerms] | None = None,
) -> Tariff:
    """RAT-2: publish a tariff version in force from ``effective_from`` (default: now), closing the
    open-ended version at that instant. Refused when it would start in the past or before a
    version already scheduled."""
    require_operator(ctx)
    rating_run = _run(run)
    version = version.strip()
    if not version or len(version) > MAX_VERSION:
        raise InvalidInput("version", f"A version name has 1 to {MAX_VERSION} characters")
    now = ctx.clock.now()
    start = now if effective_from is None else require_aware(effective_from)
    if start < now:
        raise TermViolation(
            "RAT-2",
            f"A tariff version takes effect now or later, not on {start.isoformat()}: calls already "
            "rated keep their prices",
            field="effective_from",
        )
    versions = uow.billing.tariffs(rating_run.value)
    if any(t.version == version for t in versions):
        raise Conflict(f"Tariff version {version!r} of {rating_run.value} already exists", field="version")
    latest = versions[-1] if versions else None
    if latest is not None and latest.valid_from >= start:
        raise TermViolation(
            "RAT-2",
            f"Version {latest.version} starts on {latest.valid_from.isoformat()}: a new version must start "
            "after it",
            field="effective_from",
        )
    tariff = Tariff(version, start, dict(per_minute_by_prefix), terms_by_prefix=dict(terms_by_prefix or {}))
    kept = list(versions)
    if latest is not None and (latest.valid_to is None or latest.valid_to > start):
        kept[-1] = Tariff(
            latest.version,
            latest.valid_from,
            latest.per_minute_by_prefix,
            valid_to=start,
            terms_by_prefix=latest.terms_by_prefix,
        )
        TariffBook([*kept, tariff])  # RAT-2: still one version at every instant
        uow.billing.close_tariff(rating_run.value, latest.version, start)
    uow.billing.add_tariff(rating_run.value, tariff, now)
    uow.commit()
    return tariff


def import_tariff(
    uow: BillingUnitOfWork,
    ctx: Context,
    run: str,
    version: str,
    csv_text: str,
    *,
    effective_from: datetime | None = None,
) -> tuple[Tariff | None, TariffImport]:
    """RAT-2: publish a version read from a CSV (``rating.tariff_csv``); a file with any error is
    refused whole: nothing is stored and the per-row report is returned."""
    require_operator(ctx)
    parsed = parse_tariff_csv(csv_text)
    if not parsed.ok:
        return None, parsed
    tariff = publish_tariff(
        uow,
        ctx,
        run,
        version,
        parsed.per_minute_by_prefix,
        effective_from=effective_from,
        terms_by_prefix=parsed.terms_by_prefix,
    )
    return tariff, parsed
