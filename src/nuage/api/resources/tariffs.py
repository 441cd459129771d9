"""Tariff versions (RAT-2): ``/tariffs/{run}``: list, publish or schedule, import from a CSV.

Operator only, reads included (a customer reads its prices on its invoices). A version takes
effect now or later, closing the open-ended one: calls already rated, and their invoices, are
never touched (``services.billing.tariffs``). A CSV with any bad row is refused whole, with one
entry per bad field (row number, field, message) in ``details.rows``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import AwareDatetime, Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.errors import error_response
from nuage.api.schemas import Input, Output
from nuage.rating.tariff_csv import MAX_BYTES, MAX_DECIMALS, MAX_DESCRIPTION, MAX_ROWS
from nuage.rating.tariffs import RateTerms, Tariff
from nuage.services.billing import tariffs

router = APIRouter()

READ, WRITE = "billing.tariffs.read", "billing.tariffs.create"
RUN = Annotated[str, Path(pattern=r"^(customer-retail|partner-wholesale)$", description="TEN-5 rating run")]
Prefix = Annotated[str, Field(pattern=r"^[0-9]{1,15}$")]
Amount = Annotated[Decimal, Field(ge=0, lt=1000, decimal_places=MAX_DECIMALS)]


class RateOut(Output):
    """RAT-2: a prefix's prices."""

    prefix: str
    description: str
    per_minute: Decimal
    minimum: Decimal
    connection_fee: Decimal


class TariffOut(Output):
    """RAT-2: one tariff version and when it is in force (``valid_to`` null: open-ended)."""

    run: str
    version: str
    valid_from: datetime
    valid_to: datetime | None
    rates: list[RateOut]


class TariffsOut(Output):
    """RAT-2: a run's versions, oldest first."""

    run: str
    versions: list[TariffOut]


class RateIn(Input):
    """RAT-2: a prefix's prices (EUR; minimum and connection fee per charged call)."""

    prefix: Prefix
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    per_minute: Amount
    minimum: Amount = Decimal(0)
    connection_fee: Amount = Decimal(0)


class TariffIn(Input):
    """RAT-2: a new version, every prefix of it; in force from ``effective_from`` (default: now)."""

    version: str = Field(min_length=1, max_length=64)
    effective_from: AwareDatetime | None = None
    rates: list[RateIn] = Field(min_length=1, max_length=MAX_ROWS)


class TariffCsvIn(Input):
    """RAT-2: a new version as CSV text (``prefix,description,per_minute,minimum,connection_fee``)."""

    version: str = Field(min_length=1, max_length=64)
    effective_from: AwareDatetime | None = None
    csv: str = Field(min_length=1, max_length=MAX_BYTES)


def _tariff_out(run: str, tariff: Tariff) -> TariffOut:
    terms = tariff.terms_by_prefix
    return TariffOut(
        run=run,
        version=tariff.version,
        valid_from=tariff.valid_from,
        valid_to=tariff.valid_to,
        rates=[
            RateOut(
                prefix=prefix,
                description=terms.get(prefix, RateTerms()).description,
                per_minute=price,
                minimum=terms.get(prefix, RateTerms()).minimum,
                connection_fee=terms.get(prefix, RateTerms()).connection_fee,
            )
            for prefix, price in sorted(tariff.per_minute_by_prefix.items())
        ],
    )


@router.get(
    "/tariffs/{run}",
    response_model=TariffsOut,
    summary="List a rating run's tariff versions",
    tags=["tariffs"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "RAT-2: every version of the run's tariff, with its validity and prices."),
)
def list_tariffs(run: RUN, request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    versions = tariffs.list_tariffs(c.uow, c.ctx, run)
    out = TariffsOut(run=run, versions=[_tariff_out(run, t) for t in versions])
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/tariffs/{run}",
    response_model=TariffOut,
    status_code=201,
    summary="Publish or schedule a tariff version",
    tags=["tariffs"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(
        WRITE,
        "RAT-2: a new version in force from `effective_from` (now or later; default now); the "
        "open-ended version is closed then. Calls are rated by the version in force at their start.",
    ),
)
def publish_tariff(run: RUN, body: TariffIn, c: Call = Depends(call)) -> Response:
    c.require(WRITE)
    prefixes = [rate.prefix for rate in body.rates]
    if len(set(prefixes)) != len(prefixes):
        return error_response(
            422, "invalid-input", "Each prefix appears once", {"field": "rates", "rule_id": "RAT-2"}
        )
    tariff = tariffs.publish_tariff(
        c.uow,
        c.ctx,
        run,
        body.version,
        {rate.prefix: rate.per_minute for rate in body.rates},
        effective_from=body.effective_from,
        terms_by_prefix={
            rate.prefix: RateTerms(rate.description, rate.minimum, rate.connection_fee) for rate in body.rates
        },
    )
    return write_response(_tariff_out(run, tariff).model_dump_json().encode(), 201)


@router.post(
    "/tariffs/{run}/import",
    response_model=TariffOut,
    status_code=201,
    summary="Publish a tariff version from a CSV",
    tags=["tariffs"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(
        WRITE,
        "RAT-2: the CSV is checked whole; any bad row refuses it (422 `tariff-csv-invalid`, "
        "`details.rows`: row, field, message) and nothing is published.",
    ),
)
def import_tariff(run: RUN, body: TariffCsvIn, c: Call = Depends(call)) -> Response:
    c.require(WRITE)
    tariff, parsed = tariffs.import_tariff(
        c.uow, c.ctx, run, body.version, body.csv, effective_from=body.effective_from
    )
    if tariff is None:
        rows = [{"row": e.row, "field": e.field, "message": e.message} for e in parsed.errors]
        return error_response(
            422,
            "tariff-csv-invalid",
            f"The CSV has {len(rows)} error(s); nothing was published",
            {"rule_id": "RAT-2", "rows": rows},
        )
    return write_response(_tariff_out(run, tariff).model_dump_json().encode(), 201)
