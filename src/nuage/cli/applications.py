"""``nuage schedules``, ``nuage menus``, ``nuage conferences``: opening hours, the auto-attendant
and the conference rooms' live participants (issue #16), as the operator's staff sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.directory.schedules import WEEKDAYS, weekly
from nuage.services.directory import applications as a
from nuage.services.directory import conferences as c

schedules_app = typer.Typer(
    help="Opening hours (Brussels time, Belgian holidays) choosing a call's way.", no_args_is_help=True
)
menus_app = typer.Typer(help="Auto-attendant menus: prompts and DTMF options.", no_args_is_help=True)
conferences_app = typer.Typer(help="CFG-8: conference rooms' live participants.", no_args_is_help=True)

Account = Annotated[str, typer.Argument(help="The customer account's id")]


@schedules_app.command("list")
def schedules_list(account: Account, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """An account's schedules, their hours and destinations."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        for s in uow.schedules.list(account_id=account, order_by=("name", "id")):
            hours = ", ".join(f"{WEEKDAYS[h.weekday]} {h.span}" for h in s.hours) or "never open"
            typer.echo(f"{s.id}  {s.name}: {hours}")
            typer.echo(f"    open -> {s.open_destination}; closed -> {s.closed_destination}")


@schedules_app.command("add")
def schedules_add(
    account: Account,
    name: Annotated[str, typer.Argument(help="e.g. 'Office hours'")],
    open_destination: Annotated[str, typer.Argument(help="Where calls go when open, e.g. menu:ivr_...")],
    closed_destination: Annotated[str, typer.Argument(help="Where calls go when closed")],
    hours: Annotated[str, typer.Option(help="e.g. 'mon-thu 08:30-18:00; fri 08:30-16:00'")] = "",
    holiday_destination: Annotated[str | None, typer.Option(help="On Belgian public holidays")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A schedule; Belgian public holidays close it (to ``--holiday-destination`` or as closed)."""
    try:
        spans = weekly(hours)
    except ValueError as exc:
        raise fail(f"--hours: {exc}") from exc
    change = a.ScheduleChanges(
        name=name,
        open_destination=open_destination,
        closed_destination=closed_destination,
        holiday_destination=holiday_destination,
        hours=spans,
    )
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        schedule = a.add_schedule(uow, ctx, account, change)
        uow.commit()
    typer.echo(f"{schedule.id} created")


@schedules_app.command("now")
def schedules_now(
    schedule_id: Annotated[str, typer.Argument(help="The schedule's id")],
    at: Annotated[str | None, typer.Option(help="An instant with its offset (default: now)")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Open, closed or holiday now (or ``--at``), and where a call goes."""
    moment = None
    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError as exc:
            raise fail(f"--at: {at!r} is not an ISO 8601 instant") from exc
        if moment.tzinfo is None:
            raise fail("--at needs its offset, e.g. 2026-07-21T10:00:00+02:00")
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        state, reason, destination = a.schedule_now(uow, ctx, schedule_id, moment)
    typer.echo(f"{state.value}{f' ({reason})' if reason else ''} -> {destination}")


@menus_app.command("list")
def menus_list(account: Account, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """An account's auto-attendant menus and their options."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        for m in uow.menus.list(account_id=account, order_by=("name", "id")):
            options = ", ".join(f"{k} -> {v}" for k, v in m.options.items()) or "no options"
            typer.echo(f"{m.id}  {m.name} ({m.language}, {m.prompt}): {options}")


@menus_app.command("add")
def menus_add(
    account: Account,
    name: Annotated[str, typer.Argument(help="e.g. 'Reception'")],
    option: Annotated[list[str], typer.Option(help="KEY=DESTINATION, e.g. 1=user:usr_... (repeat)")] = [],  # noqa: B006
    prompt: Annotated[str, typer.Option(help="sound:<id> or default:<key>")] = "default:welcome",
    language: Annotated[str, typer.Option(help="en, fr or nl (the default prompts')")] = "en",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """An auto-attendant menu."""
    options = dict(item.split("=", 1) for item in option if "=" in item)
    if len(options) != len(option):
        raise fail("--option takes KEY=DESTINATION")
    change = a.MenuChanges(name=name, options=options, prompt=prompt, language=language)
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        menu = a.add_menu(uow, ctx, account, change)
        uow.commit()
    typer.echo(f"{menu.id} created")


Room = Annotated[str, typer.Argument(help="The conference room's id")]
Participant = Annotated[str, typer.Argument(help="The participant's id (as `participants` lists it)")]


@conferences_app.command("participants")
def conferences_participants(room: Room, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Who is in the room now."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        for p in c.list_participants(uow, ctx, room):
            flags = " ".join(
                f for f, on in (("moderator", p.moderator), ("muted", p.muted), ("kicked", p.kicked)) if on
            )
            typer.echo(f"{p.id}  {p.label}  since {p.joined_at:%H:%M:%S} {flags}".rstrip())


def _mute(room: str, participant: str, muted: bool, data_dir: DataDir, database_url: DatabaseUrl) -> None:
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        c.set_participant_muted(uow, ctx, room, participant, muted)
        uow.commit()
    typer.echo(f"{participant} {'muted' if muted else 'unmuted'}")


@conferences_app.command("mute")
def conferences_mute(
    room: Room, participant: Participant, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Nobody hears the participant (who still hears the room)."""
    _mute(room, participant, True, data_dir, database_url)


@conferences_app.command("unmute")
def conferences_unmute(
    room: Room, participant: Participant, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """The room hears the participant again."""
    _mute(room, participant, False, data_dir, database_url)


@conferences_app.command("kick")
def conferences_kick(
    room: Room, participant: Participant, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """End the participant's call."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        c.kick_participant(uow, ctx, room, participant)
        uow.commit()
    typer.echo(f"{participant} is being let go")
