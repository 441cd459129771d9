"""Schedules and auto-attendant menus (issue #16): ``/schedules``, ``/ivr-menus``, and the numbers
the platform answers itself (``PUT /numbers/{id}/application``: a menu, a schedule or a
conference room). Destinations are written ``kind:target`` (``user:usr_1``, ``menu:ivr_1``,
``extension:201``, ``external:+3222555123``, ``dial_by_extension``, ``hangup``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field, StringConstraints, model_validator

from nuage.api.caching import read_response, write_response
from nuage.api.crud import (
    CONFLICT,
    FORBIDDEN,
    ID,
    INVALID,
    NOT_FOUND,
    NOT_MODIFIED,
    Resource,
    described,
    dump,
    register,
    responses,
)
from nuage.api.deps import Call, call
from nuage.api.schemas import Id, Input, Name, Output, changes
from nuage.directory.schedules import (
    MAX_EXCEPTIONS,
    MAX_SPANS,
    DayException,
    Schedule,
    Span,
    WeeklySpan,
    parse_minute,
)
from nuage.directory.schedules import format_minute as hhmm
from nuage.errors import InvalidInput
from nuage.services.directory import applications as a

Destination = Annotated[
    str, StringConstraints(min_length=1, max_length=80, pattern=r"^[a-z_]+(:[A-Za-z0-9_+-]+)?$")
]
Time = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")]
Prompt = Annotated[
    str, StringConstraints(min_length=1, max_length=60, pattern=r"^(sound|default):[A-Za-z0-9_]+$")
]
Key = Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")]


class Opening(Input):
    """Open from ``opens`` to ``closes`` (``24:00``: the end of the day), Brussels time."""

    opens: Time
    closes: Time


class WeeklyOpening(Opening):
    """Open on ``weekday`` (0 is Monday, 6 is Sunday)."""

    weekday: int = Field(ge=0, le=6)


class Exception_(Input):
    """On ``on``, these spans replace the weekly hours and public holidays (none: closed all day)."""

    on: date
    spans: list[Opening] = Field(default_factory=list, max_length=4)
    label: str = Field(default="", max_length=100)


class ScheduleBody(Input):
    """A schedule's settings; on creation ``name`` and both destinations are required."""

    account_id: Id | None = None
    name: Name | None = None
    open_destination: Destination | None = None
    closed_destination: Destination | None = None
    holiday_destination: Destination | None = None  # null: as when closed
    observe_holidays: bool | None = None  # Belgian public holidays close (default true)
    hours: list[WeeklyOpening] | None = Field(default=None, max_length=MAX_SPANS)
    exceptions: list[Exception_] | None = Field(default=None, max_length=MAX_EXCEPTIONS)


class ScheduleOut(Output):
    """A schedule."""

    id: str
    account_id: str
    name: str
    open_destination: str
    closed_destination: str
    holiday_destination: str | None
    observe_holidays: bool
    hours: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_schedule(cls, value: Any) -> Any:
        if not isinstance(value, Schedule):
            return value
        return {
            **{k: getattr(value, k) for k in ("id", "account_id", "name", "open_destination")},
            **{k: getattr(value, k) for k in ("closed_destination", "holiday_destination", "created_at")},
            "observe_holidays": value.observe_holidays,
            "hours": [{"weekday": h.weekday, **_span(h.span)} for h in value.hours],
            "exceptions": [
                {"on": e.on.isoformat(), "spans": [_span(s) for s in e.spans], "label": e.label}
                for e in value.exceptions
            ],
        }


class ScheduleNow(Output):
    """What a schedule says at an instant."""

    at: datetime
    state: str
    reason: str | None
    destination: str


def _span(span: Span) -> dict[str, str]:
    return {"opens": hhmm(span.opens), "closes": hhmm(span.closes)}


def _to_span(opening: Opening, field: str) -> Span:
    try:
        return Span(parse_minute(opening.opens), parse_minute(opening.closes))
    except ValueError as error:
        raise InvalidInput(field, str(error)) from None


def _schedule_changes(body: ScheduleBody) -> a.ScheduleChanges:
    values = changes(body, "name", "open_destination", "closed_destination", "observe_holidays")
    values.pop("account_id", None)
    if body.hours is not None:
        values["hours"] = tuple(WeeklySpan(h.weekday, _to_span(h, "hours")) for h in body.hours)
    if body.exceptions is not None:
        values["exceptions"] = tuple(
            DayException(e.on, tuple(_to_span(s, "exceptions") for s in e.spans), e.label)
            for e in body.exceptions
        )
    elif "exceptions" in values:
        values.pop("exceptions")
    if values.get("hours") is None:
        values.pop("hours", None)
    return a.ScheduleChanges(**values)


SCHEDULES = Resource(
    path="/schedules",
    area="directory",
    name="schedules",
    tag="directory",
    noun="schedule",
    out=ScheduleOut,
    repo=lambda uow: uow.schedules,
    filters={"account_id": Id},
    order_fields=("created_at", "name"),
    create_body=ScheduleBody,
    create=lambda c, body: a.add_schedule(
        c.uow, c.ctx, body.account_id or c.claims.account_id, _schedule_changes(body)
    ),
    update_body=ScheduleBody,
    update=lambda c, key, body: a.update_schedule(c.uow, c.ctx, key, _schedule_changes(body)),
    delete=lambda c, key: a.remove_schedule(c.uow, c.ctx, key),
    rules="Opening hours in Brussels time, exceptions, Belgian public holidays.",
)


class MenuBody(Input):
    """An auto-attendant menu's settings; on creation ``name`` is required."""

    account_id: Id | None = None
    name: Name | None = None
    prompt: Prompt | None = None  # sound:<sound file id> (CFG-12) or default:<key>
    options: dict[Key, Destination] | None = Field(default=None, max_length=12)
    language: str | None = Field(default=None, pattern=r"^(en|fr|nl)$")
    timeout_ms: int | None = Field(default=None, ge=1000, le=30000)
    max_attempts: int | None = Field(default=None, ge=1, le=9)
    invalid_prompt: Prompt | None = None
    timeout_destination: Destination | None = None  # null: goodbye, hang up
    invalid_destination: Destination | None = None


class MenuOut(Output):
    """An auto-attendant menu."""

    id: str
    account_id: str
    name: str
    prompt: str
    options: dict[str, str]
    language: str
    timeout_ms: int
    max_attempts: int
    invalid_prompt: str
    timeout_destination: str | None
    invalid_destination: str | None
    created_at: datetime


_MENU_REQUIRED = ("name", "prompt", "options", "language", "timeout_ms", "max_attempts", "invalid_prompt")


def _menu_changes(body: MenuBody) -> a.MenuChanges:
    values = changes(body, *_MENU_REQUIRED)
    values.pop("account_id", None)
    return a.MenuChanges(**values)


MENUS = Resource(
    path="/ivr-menus",
    area="directory",
    name="ivr-menus",
    tag="directory",
    noun="menu",
    out=MenuOut,
    repo=lambda uow: uow.menus,
    filters={"account_id": Id},
    order_fields=("created_at", "name"),
    create_body=MenuBody,
    create=lambda c, body: a.add_menu(
        c.uow, c.ctx, body.account_id or c.claims.account_id, _menu_changes(body)
    ),
    update_body=MenuBody,
    update=lambda c, key, body: a.update_menu(c.uow, c.ctx, key, _menu_changes(body)),
    delete=lambda c, key: a.remove_menu(c.uow, c.ctx, key),
    rules="Auto-attendant: prompts (CFG-12 sound files or default prompts), DTMF options.",
)

router = APIRouter()
register(router, SCHEDULES)
register(router, MENUS)


@router.get(
    "/schedules/{id}/now",
    response_model=ScheduleNow,
    summary="What a schedule says now (or at an instant)",
    tags=["directory"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described("directory.schedules.read", "Open, closed or holiday, and where a call goes then."),
)
def schedule_now(
    id: ID,
    request: Request,
    at: Annotated[datetime | None, Query(description="An instant with its offset (default: now)")] = None,
    c: Call = Depends(call),
) -> Response:
    if at is not None and at.tzinfo is None:
        raise InvalidInput("at", "An instant needs its offset (ISO 8601, e.g. 2026-07-21T10:00:00+02:00)")
    moment = at or c.ctx.clock.now()
    state, reason, destination = a.schedule_now(c.uow, c.ctx, id, moment)
    c.require("directory.schedules.read")
    out = ScheduleNow(at=moment, state=state.value, reason=reason, destination=str(destination))
    return read_response(request, out.model_dump_json().encode())


class Application(Input):
    """Where the platform itself answers the number: ``menu:``, ``schedule:`` or ``conference:``
    (null: no longer; the number must be assigned to nobody)."""

    destination: Destination | None


class ApplicationOut(Output):
    """A number answered by the platform."""

    number_id: str
    account_id: str
    destination: str | None
    created_at: datetime | None = None


@router.put(
    "/numbers/{id}/application",
    response_model=ApplicationOut,
    summary="Route a number to a menu, a schedule or a conference room",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID, CONFLICT),
    **described("directory.numbers.update", "The number must be assigned to no user, device or trunk."),
)
def route_number(id: ID, body: Application, c: Call = Depends(call)) -> Response:
    c.require("directory.numbers.update")
    application = a.route_number(c.uow, c.ctx, id, body.destination)
    number = c.uow.numbers.get(id)
    c.uow.commit()
    if application is None:
        return write_response(
            ApplicationOut(number_id=id, account_id=number.account_id, destination=None)
            .model_dump_json()
            .encode()
        )
    return write_response(dump(ApplicationOut, application))
