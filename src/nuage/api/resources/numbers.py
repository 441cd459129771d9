"""Numbers and number blocks (CFG-6, EMG-1): ``/numbers``, ``/number-blocks``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from nuage.api.caching import write_response
from nuage.api.crud import (
    CONFLICT,
    FORBIDDEN,
    ID,
    INVALID,
    NOT_FOUND,
    Resource,
    described,
    dump,
    register,
    responses,
)
from nuage.api.deps import Call, call
from nuage.api.schemas import E164, City, Country, Id, Input, Output, Phone, Street
from nuage.directory.model import NumberScope
from nuage.services.directory import numbers as number_use_cases
from nuage.services.directory.numbers import (
    add_number,
    add_number_block,
    remove_number,
    remove_number_block,
    update_number_block_address,
)


class BlockCreate(Input):
    """CFG-6: consecutive numbers; EMG-1: the postal address of the premises they serve."""

    account_id: Id | None = None
    first_e164: E164
    size: Annotated[int, Field(ge=1, le=10000)]
    street: Street | None = None
    postal_code: Phone | None = None
    city: City | None = None
    country: Country | None = None


class Address(Input):
    """EMG-1: the block's postal address, all four parts."""

    street: Street
    postal_code: Phone
    city: City
    country: Country


class BlockOut(Output):
    """A number block and its emergency address (EMG-1)."""

    id: str
    account_id: str
    first_e164: str
    size: int
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    address_updated_on: date | None
    has_address: bool
    created_at: datetime


class NumberCreate(Input):
    """CFG-6: a number of the account (national or international by its country)."""

    account_id: Id | None = None
    e164: E164
    block_id: Id | None = None
    main: bool = False


class Assignment(Input):
    """CFG-6: where calls to the number go: one user, device, trunk or ring group, or nowhere (all null)."""

    user_id: Id | None = None
    device_id: Id | None = None
    trunk_id: Id | None = None
    ring_group_id: Id | None = None


class NumberOut(Output):
    """A number, its block and its assignment."""

    id: str
    account_id: str
    e164: str
    scope: NumberScope
    block_id: str | None
    user_id: str | None
    device_id: str | None
    trunk_id: str | None
    ring_group_id: str | None
    main: bool
    activated_on: date | None
    created_at: datetime


def _create_block(c: Call, body: BlockCreate) -> Any:
    fields = body.model_dump(exclude={"account_id", "first_e164", "size"})
    return add_number_block(
        c.uow, c.ctx, body.account_id or c.claims.account_id, body.first_e164, body.size, **fields
    )


def _create_number(c: Call, body: NumberCreate) -> Any:
    return add_number(
        c.uow,
        c.ctx,
        body.account_id or c.claims.account_id,
        body.e164,
        block_id=body.block_id,
        main=body.main,
        home_region=c.runtime.platform.settings.home_region,
    )


BLOCKS = Resource(
    path="/number-blocks",
    area="directory",
    name="number-blocks",
    tag="directory",
    noun="number block",
    out=BlockOut,
    repo=lambda uow: uow.number_blocks,
    filters={"account_id": Id},
    order_fields=("first_e164", "created_at"),
    create_body=BlockCreate,
    create=_create_block,
    delete=lambda c, key: remove_number_block(c.uow, c.ctx, key),
    rules="CFG-6, EMG-1.",
)

NUMBERS = Resource(
    path="/numbers",
    area="directory",
    name="numbers",
    tag="directory",
    noun="number",
    out=NumberOut,
    repo=lambda uow: uow.numbers,
    filters={
        "account_id": Id,
        "block_id": Id,
        "user_id": Id,
        "device_id": Id,
        "trunk_id": Id,
        "scope": NumberScope,
        "main": bool,
    },
    order_fields=("e164", "created_at"),
    create_body=NumberCreate,
    create=_create_number,
    delete=lambda c, key: remove_number(c.uow, c.ctx, key),
    rules="CFG-6 (BIL-11: international numbers are billed 12 months at least).",
)

router = APIRouter()
register(router, BLOCKS)
register(router, NUMBERS)


@router.put(
    "/number-blocks/{id}/address",
    response_model=BlockOut,
    summary="Set a number block's emergency address",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID),
    **described("directory.number-blocks.update", "EMG-1: keep the block's postal address up to date."),
)
def set_block_address(id: ID, body: Address, c: Call = Depends(call)) -> Response:
    BLOCKS.fetch(c, id)
    c.require("directory.number-blocks.update")
    block = update_number_block_address(c.uow, c.ctx, id, **body.model_dump())
    data = dump(BlockOut, block)
    c.uow.commit()
    return write_response(data)


@router.put(
    "/numbers/{id}/assignment",
    response_model=NumberOut,
    summary="Route a number to a user, a device or a trunk",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID, CONFLICT),
    **described("directory.numbers.update", "CFG-6: one target of the same account at a time, or none."),
)
def assign_number(id: ID, body: Assignment, c: Call = Depends(call)) -> Response:
    NUMBERS.fetch(c, id)
    c.require("directory.numbers.update")
    number = number_use_cases.assign_number(c.uow, c.ctx, id, **body.model_dump())
    data = dump(NumberOut, number)
    c.uow.commit()
    return write_response(data)
