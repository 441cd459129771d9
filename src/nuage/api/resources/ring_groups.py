"""Ring groups (issue #15): ``/ring-groups``, users rung together or in turn behind one extension."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, StringConstraints

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Dialled, Id, Input, Name, Output, changes
from nuage.directory.routing import MAX_MEMBERS, MAX_RING_S, MIN_RING_S, HuntStrategy
from nuage.services.directory.ring_groups import (
    RingGroupChanges,
    add_ring_group,
    remove_ring_group,
    update_ring_group,
)

Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
RingSeconds = Annotated[int, Field(ge=MIN_RING_S, le=MAX_RING_S)]
Members = Annotated[list[Id], Field(max_length=MAX_MEMBERS)]


class RingGroupCreate(Input):
    """A ring group: its members (users of the account, in ring order) and how they ring.

    ``simultaneous`` rings every member at once; ``sequential`` one after the other for
    ``member_timeout_s`` each; ``round-robin`` likewise, starting after the member rung first the
    time before. After ``timeout_s`` in all the call goes to ``fallback`` (a destination as a
    phone dials it), or gets 480 when there is none.
    """

    account_id: Id | None = None
    name: Name
    strategy: HuntStrategy = HuntStrategy.SIMULTANEOUS
    members: Members = []
    extension: Extension | None = None
    member_timeout_s: RingSeconds = 15
    timeout_s: RingSeconds = 60
    fallback: Dialled | None = None


class RingGroupUpdate(Input):
    """Change a ring group (``null`` clears the extension or the fallback)."""

    name: Name | None = None
    strategy: HuntStrategy | None = None
    members: Members | None = None
    extension: Extension | None = None
    member_timeout_s: RingSeconds | None = None
    timeout_s: RingSeconds | None = None
    fallback: Dialled | None = None


class RingGroupOut(Output):
    """A ring group."""

    id: str
    account_id: str
    name: str
    strategy: HuntStrategy
    members: list[str]
    extension: str | None
    member_timeout_s: int
    timeout_s: int
    fallback: str | None
    created_at: datetime


def _create(c: Call, body: RingGroupCreate) -> Any:
    return add_ring_group(
        c.uow,
        c.ctx,
        body.account_id or c.claims.account_id,
        body.name,
        strategy=body.strategy,
        members=tuple(body.members),
        extension=body.extension,
        member_timeout_s=body.member_timeout_s,
        timeout_s=body.timeout_s,
        fallback=body.fallback,
    )


def _update(c: Call, key: str, body: RingGroupUpdate) -> Any:
    fields = changes(body, "name", "strategy", "members", "member_timeout_s", "timeout_s")
    if "members" in fields:
        fields["members"] = tuple(fields["members"])
    return update_ring_group(c.uow, c.ctx, key, RingGroupChanges(**fields))


RING_GROUPS = Resource(
    path="/ring-groups",
    area="directory",
    name="ring-groups",
    tag="directory",
    noun="ring group",
    out=RingGroupOut,
    repo=lambda uow: uow.ring_groups,
    filters={"account_id": Id, "strategy": HuntStrategy, "extension": Extension},
    order_fields=("name", "created_at", "extension"),
    create_body=RingGroupCreate,
    create=_create,
    update_body=RingGroupUpdate,
    update=_update,
    delete=lambda c, key: remove_ring_group(c.uow, c.ctx, key),
    rules="Issue #15 ring groups; CFG-2 (members have telephony), EMG-4 (extension), EMG-2 (fallback).",
    refused_by=("CFG-2", "EMG-4", "EMG-2"),
)

router = APIRouter()
register(router, RING_GROUPS)
