"""Schedules, auto-attendant menus and the numbers they answer (issue #16): the use cases that
create, change and remove them, checking every destination against the caller's account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from nuage.directory.destinations import BY_ID, NUMBER_KINDS, Destination, DestinationKind, NumberApplication
from nuage.directory.menus import Menu, Prompt
from nuage.directory.rules import clean_name
from nuage.directory.schedules import DayException, Schedule, ScheduleState, WeeklySpan
from nuage.errors import Conflict, InvalidInput, NotFound
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.ports import Repository, UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id


def _repository(uow: UnitOfWork, kind: DestinationKind) -> Repository[object] | None:
    repos: dict[DestinationKind, Repository[object]] = {
        DestinationKind.USER: uow.users,  # type: ignore[dict-item]
        DestinationKind.VOICEMAIL: uow.users,  # type: ignore[dict-item]
        DestinationKind.MENU: uow.menus,  # type: ignore[dict-item]
        DestinationKind.SCHEDULE: uow.schedules,  # type: ignore[dict-item]
        DestinationKind.CONFERENCE: uow.conference_rooms,  # type: ignore[dict-item]
        DestinationKind.GROUP: uow.ring_groups,  # type: ignore[dict-item]
        DestinationKind.MEETING: uow.meeting_rooms,  # type: ignore[dict-item]
    }
    return repos.get(kind)


def check_destination(uow: UnitOfWork, account_id: str, text: str | None, field: str) -> str | None:
    """A destination of ``account_id``: well formed, and its target one of the account's (TEN-4: another
    account's item is answered like a missing one). A ring group is reached by its extension: one
    without is refused."""
    if text is None:
        return None
    try:
        destination = Destination.parse(text)
    except ValueError as error:
        raise InvalidInput(field, str(error), value=text) from None
    if destination.kind in BY_ID:
        repo = _repository(uow, destination.kind)
        found = repo.find(destination.target or "") if repo is not None else None
        if found is None or getattr(found, "account_id", None) != account_id:
            raise InvalidInput(field, f"No {destination.kind.value} {destination.target} in this account")
        if getattr(found, "no_service", False):
            raise InvalidInput(field, "A no-service user has no telephony (CFG-2)")
        if destination.kind is DestinationKind.GROUP and not getattr(found, "extension", None):
            raise InvalidInput(field, "Give the ring group an extension first: callers are sent to it by it")
    if destination.kind is DestinationKind.EXTENSION:
        extension = destination.target
        if (
            uow.users.find_by(account_id=account_id, extension=extension) is None
            and uow.conference_rooms.find_by(account_id=account_id, extension=extension) is None
            and uow.ring_groups.find_by(account_id=account_id, extension=extension) is None
        ):
            raise InvalidInput(field, f"No user, ring group or conference room has extension {extension}")
    return str(destination)


# --- schedules -----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ScheduleChanges:
    """What a change of a schedule sets; ``UNSET`` fields stay as they are."""

    name: str | Unset = UNSET
    open_destination: str | Unset = UNSET
    closed_destination: str | Unset = UNSET
    holiday_destination: str | None | Unset = UNSET
    observe_holidays: bool | Unset = UNSET
    hours: tuple[WeeklySpan, ...] | Unset = UNSET
    exceptions: tuple[DayException, ...] | Unset = UNSET


def _checked_schedule(uow: UnitOfWork, schedule: Schedule) -> Schedule:
    try:
        schedule.check()
    except ValueError as error:
        raise InvalidInput("hours", str(error)) from None
    for field in ("open_destination", "closed_destination", "holiday_destination"):
        check_destination(uow, schedule.account_id, getattr(schedule, field), field)
        if getattr(schedule, field) == f"schedule:{schedule.id}":
            raise InvalidInput(field, "A schedule cannot lead to itself")
    return schedule


def add_schedule(uow: UnitOfWork, ctx: Context, account_id: str, change: ScheduleChanges) -> Schedule:
    """Opening hours of an account and where calls go when open, closed or on a public holiday."""
    get_customer(uow, ctx, account_id)
    values = given(change)
    for required in ("name", "open_destination", "closed_destination"):
        if required not in values:
            raise InvalidInput(required, f"{required} is required")
    values["name"] = clean_name(values["name"])
    schedule = _checked_schedule(
        uow, Schedule(new_id("sch"), account_id, created_at=ctx.clock.now(), **values)
    )
    uow.schedules.add(schedule)
    return schedule


def update_schedule(uow: UnitOfWork, ctx: Context, schedule_id: str, change: ScheduleChanges) -> Schedule:
    """Change a schedule's hours, exceptions or destinations."""
    schedule = get_visible(uow.schedules, ctx, schedule_id)
    values = given(change)
    if "name" in values:
        values["name"] = clean_name(values["name"])
    updated = _checked_schedule(uow, replace(schedule, **values))
    uow.schedules.update(updated)
    return updated


def schedule_now(
    uow: UnitOfWork, ctx: Context, schedule_id: str, at: datetime | None = None
) -> tuple[ScheduleState, str | None, Destination]:
    """Open, closed or holiday at ``at`` (now by the context's clock) and where a call goes then."""
    schedule = get_visible(uow.schedules, ctx, schedule_id)
    moment = at or ctx.clock.now()
    state, reason = schedule.state_at(moment)
    return state, reason, schedule.destination_at(moment)


def _refuse_if_used(uow: UnitOfWork, account_id: str, target: str, noun: str, but: str = "") -> None:
    menus = uow.menus.list(account_id=account_id)
    users = [m.name for m in menus if m.id != but and target in _menu_targets(m)]
    users += [s.name for s in uow.schedules.list(account_id=account_id) if target in _schedule_targets(s)]
    if any(a.destination == target for a in uow.number_applications.list(account_id=account_id)):
        users.append("a number")
    if users:
        raise Conflict(f"The {noun} is in use by {', '.join(sorted(users))}; change those first")


def _menu_targets(menu: Menu) -> set[str]:
    return {*menu.options.values(), menu.timeout_destination or "", menu.invalid_destination or ""}


def _schedule_targets(schedule: Schedule) -> set[str]:
    return {schedule.open_destination, schedule.closed_destination, schedule.holiday_destination or ""}


def remove_schedule(uow: UnitOfWork, ctx: Context, schedule_id: str) -> None:
    """Remove a schedule no menu, schedule or number leads to."""
    schedule = get_visible(uow.schedules, ctx, schedule_id)
    _refuse_if_used(uow, schedule.account_id, f"schedule:{schedule.id}", "schedule")
    uow.schedules.remove(schedule.id)


# --- menus ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MenuChanges:
    """What a change of a menu sets; ``UNSET`` fields stay as they are."""

    name: str | Unset = UNSET
    prompt: str | Unset = UNSET
    options: Mapping[str, str] | Unset = UNSET
    language: str | Unset = UNSET
    timeout_ms: int | Unset = UNSET
    max_attempts: int | Unset = UNSET
    invalid_prompt: str | Unset = UNSET
    timeout_destination: str | None | Unset = UNSET
    invalid_destination: str | None | Unset = UNSET


def _checked_menu(uow: UnitOfWork, menu: Menu) -> Menu:
    try:
        menu.check()
    except ValueError as error:
        raise InvalidInput("options", str(error)) from None
    for field in ("prompt", "invalid_prompt"):
        prompt = Prompt.parse(getattr(menu, field))
        if prompt.sound_file_id is not None:  # CFG-12: one of the account's sound files
            sound = uow.sound_files.find(prompt.sound_file_id)
            if sound is None or sound.account_id != menu.account_id:
                raise InvalidInput(field, f"No sound file {prompt.sound_file_id} in this account")
    options = {
        key: check_destination(uow, menu.account_id, text, f"options.{key}") or text
        for key, text in menu.options.items()
    }
    for field in ("timeout_destination", "invalid_destination"):
        check_destination(uow, menu.account_id, getattr(menu, field), field)
    return replace(menu, options=dict(sorted(options.items())))


def add_menu(uow: UnitOfWork, ctx: Context, account_id: str, change: MenuChanges) -> Menu:
    """An auto-attendant menu of the account."""
    get_customer(uow, ctx, account_id)
    values = given(change)
    if "name" not in values:
        raise InvalidInput("name", "name is required")
    values["name"] = clean_name(values["name"])
    menu = _checked_menu(uow, Menu(new_id("ivr"), account_id, created_at=ctx.clock.now(), **values))
    uow.menus.add(menu)
    return menu


def update_menu(uow: UnitOfWork, ctx: Context, menu_id: str, change: MenuChanges) -> Menu:
    """Change a menu's prompt, options or its handling of silence and wrong keys."""
    menu = get_visible(uow.menus, ctx, menu_id)
    values = given(change)
    if "name" in values:
        values["name"] = clean_name(values["name"])
    updated = _checked_menu(uow, replace(menu, **values))
    uow.menus.update(updated)
    return updated


def remove_menu(uow: UnitOfWork, ctx: Context, menu_id: str) -> None:
    """Remove a menu no other menu, schedule or number leads to (its own options may)."""
    menu = get_visible(uow.menus, ctx, menu_id)
    _refuse_if_used(uow, menu.account_id, f"menu:{menu.id}", "menu", but=menu.id)
    uow.menus.remove(menu.id)


# --- numbers answered by the platform ----------------------------------------------------------------


def route_number(
    uow: UnitOfWork, ctx: Context, number_id: str, destination: str | None
) -> NumberApplication | None:
    """A number of the account answered by a menu, a schedule, a conference room or a Web Meeting room
    (MTG-1: its dial-in; None: no longer);
    the number must be assigned to no user, device, trunk or virtual fax."""
    number = get_visible(uow.numbers, ctx, number_id)
    current = uow.number_applications.find(number.id)
    if destination is None:
        if current is not None:
            uow.number_applications.remove(number.id)
        return None
    text = check_destination(uow, number.account_id, destination, "destination")
    if text is None or Destination.parse(text).kind not in NUMBER_KINDS:
        raise InvalidInput(
            "destination", "A number leads to a menu, a schedule, a conference room or a meeting room"
        )
    if number.user_id or number.device_id or number.trunk_id or uow.faxes.find_by(number_id=number.id):
        raise Conflict(f"{number.e164} is assigned; unassign it first", field="number_id")
    application = NumberApplication(number.id, number.account_id, text, ctx.clock.now())
    if current is None:
        uow.number_applications.add(application)
    else:
        uow.number_applications.update(application)
    return application


def number_route(uow: UnitOfWork, ctx: Context, number_id: str) -> NumberApplication:
    """Where the platform itself answers a number; NotFound when it does not."""
    number = get_visible(uow.numbers, ctx, number_id)
    found = uow.number_applications.find(number.id)
    if found is None:
        raise NotFound("number application", number_id)
    return found
