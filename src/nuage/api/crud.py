"""The shared anatomy of a resource (Wazo-style): list, create, read, update, delete.

Every collection pages, sorts and filters the same way (``limit``, ``cursor``, ``order``,
``direction``, ``total`` and equality filters; ``nuage.api.paging``) and answers
``{"items", "limit", "next"}`` (with ``"total"`` when asked for); every
operation documents its permission (``x-permission``), its errors and its cache headers (API-4).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from nuage.api import paging
from nuage.api.caching import read_response, write_response
from nuage.api.deps import Call, current_claims, in_call
from nuage.api.errors import ErrorBody, unprocessable
from nuage.api.schemas import Id
from nuage.api.tokens import Claims
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.ports import Repository
from nuage.services.queries import get_visible, page_visible

MAX_PAGE = 500

#: collection path -> the work of ``GET {path}/{id}``; the gate's fast lane serves these (API-4)
ITEM_READS: dict[str, Callable[[Call, str], bytes]] = {}

_ID_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")  # ``schemas.Id``, as the route validates it


@dataclass(frozen=True)
class ListRead:
    """What the fast lane needs to serve ``GET {path}`` itself: the same work, and parsers for the
    plain parameter values it accepts (anything else goes to the documented route, which answers
    the same for these values and validates the rest)."""

    work: Callable[[Call, dict[str, Any]], bytes]
    order_fields: tuple[str, ...]
    filters: Mapping[str, Callable[[str], Any] | None]  # None: always left to the route

    def parse(self, pairs: list[tuple[str, str]]) -> dict[str, Any] | None:
        """The handler's arguments for these query pairs, or None to leave them to the route."""
        kw: dict[str, Any] = dict.fromkeys(self.filters)
        kw.update(limit=50, cursor=None, order=self.order_fields[0], direction="asc", total=False)
        seen: set[str] = set()
        for name, value in pairs:
            if name in seen:
                return None
            seen.add(name)
            if name == "limit":
                if not value.isdigit() or len(value) > 3 or not 1 <= int(value) <= MAX_PAGE:
                    return None
                kw[name] = int(value)
            elif name == "cursor":
                if not 1 <= len(value) <= paging.MAX_CURSOR:
                    return None
                kw[name] = value
            elif name == "total":
                if value not in ("true", "false"):
                    return None
                kw[name] = value == "true"
            elif name == "order":
                if value not in self.order_fields:
                    return None
                kw[name] = value
            elif name == "direction":
                if value not in ("asc", "desc"):
                    return None
                kw[name] = value
            else:
                parser = self.filters.get(name)
                parsed = parser(value) if parser is not None else None
                if parsed is None:
                    return None
                kw[name] = parsed
        return kw


def _parser(annotation: Any) -> Callable[[str], Any] | None:
    if annotation is bool:
        return lambda value: {"true": True, "false": False}.get(value)
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        members = {member.value: member for member in annotation}
        return members.get
    if annotation is Id:
        return lambda value: value if _ID_VALUE.match(value) else None
    return None


#: collection path -> how to serve ``GET {path}`` in the fast lane
LIST_READS: dict[str, ListRead] = {}

_CACHE_HEADERS = {
    "ETag": {
        "description": "Validator of this representation (send it back in If-None-Match)",
        "schema": {"type": "string"},
    },
    "Cache-Control": {"description": "API-4: private, revalidate", "schema": {"type": "string"}},
}
_NO_STORE = {"Cache-Control": {"description": "API-4: no-store", "schema": {"type": "string"}}}

COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request cannot be parsed (e.g. a body that is not JSON)"},
    401: {
        "model": ErrorBody,
        "description": "No valid token (missing, expired, or its client suspended or revoked, API-3/4)",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    429: {
        "model": ErrorBody,
        "description": "API-2: the account has its maximum of reads or writes in flight; never queued",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
FORBIDDEN = {403: {"model": ErrorBody, "description": "Visible, but the role lacks the permission"}}
NOT_FOUND = {
    404: {"model": ErrorBody, "description": "No such object, or another tenant's (TEN-4: same answer)"}
}
INVALID = unprocessable()  # operations a rule of the terms may refuse document it: unprocessable(rule_id...)
CONFLICT = {409: {"model": ErrorBody, "description": "Clashes with existing data (duplicate, in use)"}}
NOT_MODIFIED = {304: {"description": "Not modified: If-None-Match matched the current ETag (API-4)"}}


def responses(*groups: Mapping[Any, Any]) -> dict[int | str, dict[str, Any]]:
    """The documented responses of an operation: the common ones and ``groups``."""
    merged: dict[int | str, dict[str, Any]] = {**COMMON_ERRORS, **INVALID}
    for group in groups:
        merged.update(group)
    return merged


def described(permission: str, text: str) -> dict[str, Any]:
    """Route keywords naming the permission in the description and as ``x-permission``."""
    return {
        "description": f"{text}\n\nPermission: `{permission}`.",
        "openapi_extra": {"x-permission": permission},
    }


def dump(model: type[BaseModel], obj: Any) -> bytes:
    """The JSON of a domain object through its response schema."""
    return model.model_validate(obj, from_attributes=True).model_dump_json().encode()


def dump_page(
    model: type[BaseModel], items: list[Any], limit: int, next_cursor: str | None, total: int | None = None
) -> bytes:
    """The page envelope (``nuage.api.paging``), built without a second serialisation pass."""
    return paging.envelope(b",".join(dump(model, item) for item in items), limit, next_cursor, total)


def dump_listed(
    model: type[BaseModel], items: list[Any], limit: int, cursor: str | None, where: str, total: bool
) -> bytes:
    """The page after ``cursor`` of a collection filtered and ordered in memory (small collections
    that are not rows of one table); ``where`` names its order (a cursor of another is refused)."""
    page, next_cursor = paging.listed(items, limit, cursor, where)
    return dump_page(model, page, limit, next_cursor, len(items) if total else None)


page_model = paging.page_model


@dataclass(frozen=True)
class Resource:
    """One REST resource: its path, permission names, schemas and use cases."""

    path: str
    area: str
    name: str
    tag: str
    noun: str
    out: type[BaseModel]
    repo: Callable[[BillingUnitOfWork], Repository[Any]]
    owner_field: str = "account_id"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    filters: Mapping[str, Any] = field(default_factory=dict)
    order_fields: tuple[str, ...] = ("created_at",)
    create_body: type[BaseModel] | None = None
    create: Callable[[Call, Any], Any] | None = None
    created_out: type[BaseModel] | None = None
    update_body: type[BaseModel] | None = None
    update: Callable[[Call, str, Any], Any] | None = None
    delete: Callable[[Call, str], None] | None = None
    get: Callable[[Call, str], Any] | None = None
    self_access: bool = False
    rules: str = ""
    refused_by: tuple[str, ...] = ()  # the rules of the terms that may refuse a creation or change (422)

    def permission(self, action: str) -> str:
        """``area.resource.action``."""
        return f"{self.area}.{self.name}.{action}"

    def fetch(self, c: Call, key: str) -> Any:
        """TEN-4: the item if visible, else NotFound."""
        if self.get is not None:
            return self.get(c, key)
        return get_visible(self.repo(c.uow), c.ctx, key, self.owner_field, **self.fixed)


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


_REQUEST = _param("request", Request)
#: the paging parameters every collection takes (``nuage.api.paging``)
CURSOR = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=paging.MAX_CURSOR,
        description="Where the page starts: the `next` of the previous page (same order and filters)",
    ),
]
TOTAL = Annotated[bool, Query(description="Also count how many match in all (`total`); costs a count")]
_CLAIMS = _param("claims", Claims, Depends(current_claims))
ID = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="The object's id")
]


def _with_signature(fn: Callable[..., Any], params: list[inspect.Parameter], name: str) -> Callable[..., Any]:
    fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    fn.__name__ = name
    return fn


def register(router: APIRouter, res: Resource) -> None:
    """Add the list/create/read/update/delete operations ``res`` supports to ``router``."""
    _list(router, res)
    if res.create is not None and res.create_body is not None:
        _create(router, res)
    _read(router, res)
    if res.update is not None and res.update_body is not None:
        _update(router, res)
    if res.delete is not None:
        _delete(router, res)


def _list(router: APIRouter, res: Resource) -> None:
    order_enum = StrEnum(f"{res.out.__name__.removesuffix('Out')}Order", {f: f for f in res.order_fields})  # type: ignore[misc]
    params = [
        _REQUEST,
        _CLAIMS,
        _param("limit", Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size")], 50),
        _param("cursor", CURSOR, None),
        _param(
            "order",
            Annotated[order_enum, Query(description="Sort field (ties broken by id)")],
            res.order_fields[0],
        ),
        _param("direction", Annotated[Literal["asc", "desc"], Query(description="Sort direction")], "asc"),
        _param("total", TOTAL, False),
    ]
    for name, annotation in res.filters.items():
        params.append(
            _param(
                name,
                Annotated[annotation | None, Query(description=f"Only items whose {name} is this")],
                None,
            )
        )
    permission = res.permission("read")

    async def handler(**kw: Any) -> Response:
        paging.refuse_offset(kw["request"].query_params)
        body = await in_call(kw["request"], kw["claims"], lambda c: work(c, kw), read=True)
        return read_response(kw["request"], body)

    def work(c: Call, kw: dict[str, Any]) -> bytes:
        c.require(permission)
        where = {**res.fixed, **{name: kw[name] for name in res.filters if kw[name] is not None}}
        where = {k: (v.value if isinstance(v, StrEnum) else v) for k, v in where.items()}
        order = str(kw["order"])
        position = f"{order}.{kw['direction']}"
        cursor = kw["cursor"]
        page = page_visible(
            res.repo(c.uow),
            c.ctx,
            owner_field=res.owner_field,
            order_by=(order, "id"),
            descending=kw["direction"] == "desc",
            limit=kw["limit"],
            after=None if cursor is None else paging.decode(cursor, position, 2),
            with_total=kw["total"],
            where=where,
        )
        next_cursor = None if page.after is None else paging.encode(position, page.after)
        return dump_page(res.out, page.items, page.limit, next_cursor, page.total)

    LIST_READS[res.path] = ListRead(
        work, res.order_fields, {name: _parser(annotation) for name, annotation in res.filters.items()}
    )

    router.add_api_route(
        res.path,
        _with_signature(handler, params, f"list_{res.name.replace('-', '_')}"),
        methods=["GET"],
        response_model=page_model(res.out),
        summary=f"List {res.name.replace('-', ' ')}",
        tags=[res.tag],
        responses=responses(NOT_MODIFIED, FORBIDDEN, INVALID, {200: {"headers": _CACHE_HEADERS}}),
        **described(
            permission,
            f"A page of the {res.name.replace('-', ' ')} the caller may see (TEN-4). {res.rules}".strip(),
        ),
    )


def _create(router: APIRouter, res: Resource) -> None:
    assert res.create is not None
    assert res.create_body is not None
    create = res.create
    out = res.created_out or res.out
    permission = res.permission("create")
    params = [_REQUEST, _CLAIMS, _param("body", Annotated[res.create_body, Body()])]

    def work(c: Call, kw: dict[str, Any]) -> bytes:
        c.require(permission)
        body = dump(out, create(c, kw["body"]))
        c.uow.commit()
        return body

    async def handler(**kw: Any) -> Response:
        return write_response(await in_call(kw["request"], kw["claims"], lambda c: work(c, kw)), 201)

    router.add_api_route(
        res.path,
        _with_signature(handler, params, f"create_{res.noun.replace(' ', '_')}"),
        methods=["POST"],
        status_code=201,
        response_model=out,
        summary=f"Create a {res.noun}",
        tags=[res.tag],
        responses=responses(
            FORBIDDEN, NOT_FOUND, unprocessable(*res.refused_by), CONFLICT, {201: {"headers": _NO_STORE}}
        ),
        **described(permission, f"Create a {res.noun}. {res.rules}".strip()),
    )


def _read(router: APIRouter, res: Resource) -> None:
    permission = res.permission("read")

    def work(c: Call, key: str) -> bytes:
        obj = res.fetch(c, key)
        c.require(permission, self_id=key if res.self_access else None)
        return dump(res.out, obj)

    ITEM_READS[res.path] = work

    async def handler(**kw: Any) -> Response:
        return read_response(
            kw["request"], await in_call(kw["request"], kw["claims"], lambda c: work(c, kw["id"]), read=True)
        )

    extra = " Users may read themselves (`directory.users.{id}.read`)." if res.self_access else ""
    router.add_api_route(
        f"{res.path}/{{id}}",
        _with_signature(handler, [_REQUEST, _CLAIMS, _param("id", ID)], f"get_{res.noun.replace(' ', '_')}"),
        methods=["GET"],
        response_model=res.out,
        summary=f"Read a {res.noun}",
        tags=[res.tag],
        responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND, INVALID, {200: {"headers": _CACHE_HEADERS}}),
        **described(permission, f"One {res.noun}.{extra}"),
    )


def _update(router: APIRouter, res: Resource) -> None:
    assert res.update is not None
    assert res.update_body is not None
    update = res.update
    permission = res.permission("update")

    def work(c: Call, kw: dict[str, Any]) -> bytes:
        res.fetch(c, kw["id"])
        c.require(permission, self_id=kw["id"] if res.self_access else None)
        body = dump(res.out, update(c, kw["id"], kw["body"]))
        c.uow.commit()
        return body

    async def handler(**kw: Any) -> Response:
        return write_response(await in_call(kw["request"], kw["claims"], lambda c: work(c, kw)))

    extra = (
        " Users may change their own name and language (`directory.users.{id}.update`)."
        if res.self_access
        else ""
    )
    router.add_api_route(
        f"{res.path}/{{id}}",
        _with_signature(
            handler,
            [_REQUEST, _CLAIMS, _param("id", ID), _param("body", Annotated[res.update_body, Body()])],
            f"update_{res.noun.replace(' ', '_')}",
        ),
        methods=["PATCH"],
        response_model=res.out,
        summary=f"Change a {res.noun}",
        tags=[res.tag],
        responses=responses(
            FORBIDDEN, NOT_FOUND, unprocessable(*res.refused_by), CONFLICT, {200: {"headers": _NO_STORE}}
        ),
        **described(permission, f"Change the fields given (absent fields stay). {res.rules}{extra}".strip()),
    )


def _delete(router: APIRouter, res: Resource) -> None:
    assert res.delete is not None
    delete = res.delete
    permission = res.permission("delete")

    def work(c: Call, key: str) -> None:
        res.fetch(c, key)
        c.require(permission)
        delete(c, key)
        c.uow.commit()

    async def handler(**kw: Any) -> Response:
        await in_call(kw["request"], kw["claims"], lambda c: work(c, kw["id"]))
        return write_response(None, 204)

    router.add_api_route(
        f"{res.path}/{{id}}",
        _with_signature(
            handler, [_REQUEST, _CLAIMS, _param("id", ID)], f"delete_{res.noun.replace(' ', '_')}"
        ),
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        summary=f"Remove a {res.noun}",
        tags=[res.tag],
        responses=responses(FORBIDDEN, NOT_FOUND, INVALID, CONFLICT),
        **described(permission, f"Remove a {res.noun}."),
    )
