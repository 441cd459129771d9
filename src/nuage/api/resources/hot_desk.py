"""Hot-desk sessions (CFG-13): ``/hot-desk-sessions``, who is logged in on which shared phone.

A session is named by its shared phone's device id (a phone has at most one user). It belongs to
the phone's account: another tenant's sessions are answered like missing ones (TEN-4). Sessions
past their timeout (the setting ``sip.hot_desk_timeout_hours``) are over and not shown. The
collection does not use the generic ``Resource``: a session carries no ``account_id`` of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from nuage.api.caching import read_response, write_response
from nuage.api.crud import (
    CURSOR,
    FORBIDDEN,
    ID,
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
from nuage.api.errors import unprocessable
from nuage.api.paging import refuse_offset
from nuage.api.schemas import Id, Input, Output
from nuage.services import hot_desk as h

READ = "directory.hot-desk-sessions.read"
CREATE = "directory.hot-desk-sessions.create"
DELETE = "directory.hot-desk-sessions.delete"


class HotDeskLogin(Input):
    """CFG-13: log a user in on a shared phone (``hot_desk``) of the user's own account."""

    device_id: Id
    user_id: Id


class HotDeskSessionOut(Output):
    """CFG-13: the shared phone acts as the user's device until logout or ``expires_at``."""

    device_id: str
    user_id: str
    started_at: datetime
    expires_at: datetime


HotDeskSessionPage = page_model(HotDeskSessionOut)

router = APIRouter()


@router.get(
    "/hot-desk-sessions",
    response_model=HotDeskSessionPage,
    summary="List hot-desk sessions",
    tags=["directory"],
    responses=responses(NOT_MODIFIED, FORBIDDEN),
    **described(READ, "CFG-13: who is logged in on the shared phones the caller may see (TEN-4)."),
)
def list_hot_desk_sessions(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size")] = 50,
    cursor: CURSOR = None,
    total: TOTAL = False,
    order: Annotated[
        Literal["started_at", "expires_at"], Query(description="Sort field (ties broken by device id)")
    ] = "started_at",
    direction: Annotated[Literal["asc", "desc"], Query(description="Sort direction")] = "asc",
    account_id: Annotated[Id | None, Query(description="Only the shared phones of this account")] = None,
    user_id: Annotated[Id | None, Query(description="Only this user's session")] = None,
    device_id: Annotated[Id | None, Query(description="Only this shared phone's session")] = None,
    c: Call = Depends(call),
) -> Response:
    refuse_offset(request.query_params)
    c.require(READ)
    items = h.list_hot_desk_sessions(
        c.uow, c.ctx, account_id=account_id, user_id=user_id, device_id=device_id
    )
    items.sort(key=lambda s: (getattr(s, order), s.device_id), reverse=direction == "desc")
    return read_response(
        request, dump_listed(HotDeskSessionOut, items, limit, cursor, f"{order}.{direction}", total)
    )


@router.post(
    "/hot-desk-sessions",
    status_code=201,
    response_model=HotDeskSessionOut,
    summary="Log a user in on a shared phone",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("CFG-13", "CFG-2")),
    **described(
        CREATE,
        "CFG-13: the phone must be a shared one (`hot_desk`, else 422 citing CFG-13) of the user's "
        "account, and the user must have telephony (CFG-2). A user is on one shared phone at a time "
        "and a phone has one user: the previous sessions end. The session ends by itself after "
        "`sip.hot_desk_timeout_hours` (12 by default).",
    ),
)
def create_hot_desk_session(body: HotDeskLogin, c: Call = Depends(call)) -> Response:
    c.require(CREATE)
    timeout = timedelta(hours=c.runtime.platform.settings.sip.hot_desk_timeout_hours)
    session = h.log_in(c.uow, c.ctx, body.device_id, body.user_id, timeout=timeout)
    c.uow.commit()
    return write_response(dump(HotDeskSessionOut, session), 201)


@router.get(
    "/hot-desk-sessions/{id}",
    response_model=HotDeskSessionOut,
    summary="Read a hot-desk session",
    tags=["directory"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "CFG-13: who is logged in on this shared phone (`id`: its device id); 404 if nobody."),
)
def get_hot_desk_session(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    session = h.get_hot_desk_session(c.uow, c.ctx, id)
    c.require(READ)
    return read_response(request, dump(HotDeskSessionOut, session))


@router.delete(
    "/hot-desk-sessions/{id}",
    status_code=204,
    response_class=Response,
    summary="Log out of a shared phone",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described(DELETE, "CFG-13: end the session on this shared phone (`id`: its device id)."),
)
def delete_hot_desk_session(id: ID, c: Call = Depends(call)) -> Response:
    h.get_hot_desk_session(c.uow, c.ctx, id)
    c.require(DELETE)
    h.log_out(c.uow, c.ctx, id)
    c.uow.commit()
    return write_response(None, 204)
