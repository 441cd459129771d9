"""The emergency numbers (EMG-4): ``/emergency-numbers``.

112, 100 and 101 are built in; the operator adds the other urgent short numbers (1733, 116000…).
Every authenticated caller may read the list, since it is public knowledge; only the operator's
administrators add or remove numbers, and never the built-in ones. The collection does not use the
generic ``Resource``: its items belong to no tenant, and the built-in ones are no rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import StringConstraints

from nuage.api.caching import read_response, write_response
from nuage.api.crud import (
    CONFLICT,
    CURSOR,
    FORBIDDEN,
    MAX_PAGE,
    NOT_FOUND,
    NOT_MODIFIED,
    TOTAL,
    described,
    dump,
    dump_listed,
    page_model,
    responses,
)
from nuage.api.deps import Call, call
from nuage.api.errors import Forbidden, unprocessable
from nuage.api.paging import refuse_offset
from nuage.api.schemas import Input, Name, Output
from nuage.directory.model import EmergencyNumber
from nuage.services import emergency as e
from nuage.terms.emergency import EMERGENCY_NUMBERS

ShortNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,15}$")]
NumberParam = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="The number's digits")
]

READ = "directory.emergency-numbers.read"
CREATE = "directory.emergency-numbers.create"
DELETE = "directory.emergency-numbers.delete"
RULE = (
    "EMG-4: calls to these numbers always go through, whatever the capacity, suspension or credit, "
    "and no extension may be one of them."
)


class EmergencyNumberCreate(Input):
    """EMG-4: an urgent short number to add (e.g. 1733, the doctor on duty)."""

    number: ShortNumber
    label: Name


class EmergencyNumberOut(Output):
    """An emergency number; ``built_in`` for 112, 100 and 101, which nobody added or removes."""

    number: str
    label: str
    built_in: bool
    created_at: datetime | None


EmergencyNumberPage = page_model(EmergencyNumberOut)


def _out(item: EmergencyNumber) -> EmergencyNumberOut:
    return EmergencyNumberOut(
        number=item.number,
        label=item.label,
        built_in=item.number in EMERGENCY_NUMBERS,
        created_at=item.created_at,
    )


def _require_operator(c: Call, permission: str) -> None:
    c.require(permission)
    if not c.ctx.scope.is_operator:
        raise Forbidden(permission)


router = APIRouter()


@router.get(
    "/emergency-numbers",
    response_model=EmergencyNumberPage,
    summary="List emergency numbers",
    tags=["directory"],
    responses=responses(NOT_MODIFIED),
    **described(
        READ, f"Every emergency number, built in first. {RULE} Every authenticated caller may read it."
    ),
)
def list_emergency_numbers(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size")] = 50,
    cursor: CURSOR = None,
    total: TOTAL = False,
    order: Annotated[
        Literal["number", "label"] | None, Query(description="Sort field (default: built in first)")
    ] = None,
    direction: Annotated[Literal["asc", "desc"], Query(description="Sort direction")] = "asc",
    built_in: Annotated[bool | None, Query(description="Only built-in (or only added) numbers")] = None,
    c: Call = Depends(call),
) -> Response:
    refuse_offset(request.query_params)
    items = e.list_emergency_numbers(c.uow, c.ctx)
    if built_in is not None:
        items = [item for item in items if (item.number in EMERGENCY_NUMBERS) == built_in]
    if order is not None:
        field = order
        items.sort(key=lambda item: (getattr(item, field), item.number))
    if direction == "desc":
        items.reverse()
    return read_response(
        request,
        dump_listed(
            EmergencyNumberOut, [_out(item) for item in items], limit, cursor, f"{order}.{direction}", total
        ),
    )


@router.post(
    "/emergency-numbers",
    status_code=201,
    response_model=EmergencyNumberOut,
    summary="Add an emergency number",
    tags=["directory"],
    responses=responses(FORBIDDEN, CONFLICT, unprocessable("EMG-4")),
    **described(
        CREATE,
        f"{RULE} Operator only. 112, 100 and 101 are built in (422 citing EMG-4); a number that is "
        "already an extension of some account is refused (422 citing EMG-4, naming the user).",
    ),
)
def create_emergency_number(body: EmergencyNumberCreate, c: Call = Depends(call)) -> Response:
    _require_operator(c, CREATE)
    added = e.add_emergency_number(c.uow, c.ctx, body.number, body.label)
    c.uow.commit()
    return write_response(dump(EmergencyNumberOut, _out(added)), 201)


@router.get(
    "/emergency-numbers/{number}",
    response_model=EmergencyNumberOut,
    summary="Read an emergency number",
    tags=["directory"],
    responses=responses(NOT_MODIFIED, NOT_FOUND),
    **described(READ, "One emergency number (EMG-4). Every authenticated caller may read it."),
)
def get_emergency_number(number: NumberParam, request: Request, c: Call = Depends(call)) -> Response:
    found = e.get_emergency_number(c.uow, c.ctx, number)
    return read_response(request, dump(EmergencyNumberOut, _out(found)))


@router.delete(
    "/emergency-numbers/{number}",
    status_code=204,
    response_class=Response,
    summary="Remove an emergency number",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("EMG-4")),
    **described(
        DELETE, "EMG-4: remove a number the operator added; 112, 100 and 101 stay (422). Operator only."
    ),
)
def delete_emergency_number(number: NumberParam, c: Call = Depends(call)) -> Response:
    _require_operator(c, DELETE)
    e.remove_emergency_number(c.uow, c.ctx, number)
    c.uow.commit()
    return write_response(None, 204)
