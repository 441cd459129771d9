"""``nuage forwarding``, ``nuage ring-groups``: call forwarding, do-not-disturb, ring groups (issue #15).

The same use cases as the API (``nuage.services.directory.forwarding``, ``.ring_groups``), as the
operator: a forward to an emergency number is refused (EMG-2), a ring group's members are users of
its account with telephony (CFG-2).
"""

from __future__ import annotations

from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, operator_session
from nuage.directory.routing import CallForwarding, HuntStrategy, RingGroup
from nuage.services.directory.changes import UNSET
from nuage.services.directory.forwarding import ForwardingChanges, get_forwarding, set_forwarding
from nuage.services.directory.ring_groups import add_ring_group, remove_ring_group

forwarding_app = typer.Typer(help="Call forwarding and do-not-disturb of a user.", no_args_is_help=True)
ring_groups_app = typer.Typer(help="Ring groups: users rung together or in turn.", no_args_is_help=True)

UserId = Annotated[str, typer.Argument(help="The user's id (usr-...)")]
OFF = "off"


def _shown(forwarding: CallForwarding) -> str:
    rows = [
        ("unconditional", forwarding.unconditional),
        ("busy", forwarding.busy),
        (f"no answer ({forwarding.no_answer_s} s)", forwarding.no_answer),
        ("unregistered", forwarding.unregistered),
    ]
    lines = [f"{label:<22} {value or OFF}" for label, value in rows]
    lines.append(f"{'do not disturb':<22} {'on' if forwarding.dnd else OFF}")
    return "\n".join(lines)


def _option(value: str | None) -> str | None:
    """``off`` turns a forward off; nothing given leaves it as it is (UNSET)."""
    return None if value == OFF else value


@forwarding_app.command("show")
def forwarding_show(user_id: UserId, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """The user's forwards and do-not-disturb."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        typer.echo(_shown(get_forwarding(uow, ctx, user_id)))


@forwarding_app.command("set")
def forwarding_set(
    user_id: UserId,
    unconditional: Annotated[str | None, typer.Option(help="Forward every call ('off': no more)")] = None,
    busy: Annotated[str | None, typer.Option(help="Forward when busy or in do-not-disturb")] = None,
    no_answer: Annotated[str | None, typer.Option(help="Forward when not answered")] = None,
    seconds: Annotated[int | None, typer.Option(help="Ring this long before the no-answer forward")] = None,
    unregistered: Annotated[str | None, typer.Option(help="Forward when no phone is registered")] = None,
    dnd: Annotated[bool | None, typer.Option("--dnd/--no-dnd", help="Do not disturb")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set some forwards (a destination is an extension, a SIP username or a number; 'off' clears)."""
    given = {
        "unconditional": unconditional,
        "busy": busy,
        "no_answer": no_answer,
        "unregistered": unregistered,
    }
    change = ForwardingChanges(
        **{name: _option(value) for name, value in given.items() if value is not None},
        no_answer_s=UNSET if seconds is None else seconds,
        dnd=UNSET if dnd is None else dnd,
    )
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        forwarding = set_forwarding(uow, ctx, user_id, change)
        uow.commit()
    typer.echo(_shown(forwarding))


def _group_line(group: RingGroup) -> str:
    fallback = f" -> {group.fallback}" if group.fallback else ""
    return (
        f"{group.id}  {group.name}  ext {group.extension or '-'}  {group.strategy.value}  "
        f"{' '.join(group.members) or '(no members)'}  {group.member_timeout_s}/{group.timeout_s} s{fallback}"
    )


@ring_groups_app.command("list")
def ring_groups_list(
    account_id: Annotated[str, typer.Argument(help="The customer's party id")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The ring groups of an account."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        for group in uow.ring_groups.list(account_id=account_id, order_by=("name", "id")):
            if ctx.scope.can_see(group.account_id):
                typer.echo(_group_line(group))


@ring_groups_app.command("add")
def ring_groups_add(
    account_id: Annotated[str, typer.Argument(help="The customer's party id")],
    name: Annotated[str, typer.Argument(help="e.g. Reception")],
    members: Annotated[
        list[str] | None, typer.Option("--member", help="A user id (repeat, in ring order)")
    ] = None,
    strategy: Annotated[HuntStrategy, typer.Option(help="How the members ring")] = HuntStrategy.SIMULTANEOUS,
    extension: Annotated[str | None, typer.Option(help="The group's extension, e.g. 250")] = None,
    member_timeout: Annotated[int, typer.Option(help="Seconds each member rings (in turn)")] = 15,
    timeout: Annotated[int, typer.Option(help="Seconds the group rings before the fallback")] = 60,
    fallback: Annotated[str | None, typer.Option(help="Where calls go when nobody answers")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a ring group."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        group = add_ring_group(
            uow,
            ctx,
            account_id,
            name,
            strategy=strategy,
            members=tuple(members or ()),
            extension=extension,
            member_timeout_s=member_timeout,
            timeout_s=timeout,
            fallback=fallback,
        )
        uow.commit()
    typer.echo(_group_line(group))


@ring_groups_app.command("remove")
def ring_groups_remove(
    group_id: Annotated[str, typer.Argument(help="The group's id (grp-...)")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a ring group."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        remove_ring_group(uow, ctx, group_id)
        uow.commit()
    typer.echo(f"{group_id} removed")
