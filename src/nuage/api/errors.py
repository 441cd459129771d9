"""The HTTP edge of the error tree: one body shape everywhere, ``{"error_id", "message", "details"}``."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from nuage.api.schemas import PATTERN_FORMATS
from nuage.errors import Conflict, InvalidInput, NotFound, NuageError, TermViolation, UpstreamUnavailable
from nuage.shared.rules import RULES


class Forbidden(NuageError):
    """The caller sees the object but its role lacks the permission (never used across tenants, TEN-4)."""

    error_id = "forbidden"

    def __init__(self, permission: str) -> None:
        super().__init__(f"This needs the permission {permission}", permission=permission)


class ErrorBody(BaseModel):
    """Every error the API answers: a stable id, a message for people, structured details.

    ``details.rule_id`` names the rule of the terms when one refuses (e.g. ``CFG-5``, ``API-2``);
    ``details.field`` names the offending field of a malformed request.
    """

    error_id: str = Field(examples=["term-violation"])
    message: str
    details: dict[str, Any] = Field(examples=[{"rule_id": "CFG-5", "purpose": "alarm"}])


def unprocessable(*rule_ids: str) -> dict[int | str, dict[str, Any]]:
    """An operation's documented 422: a malformed field (``invalid-input``), or, for each of
    ``rule_ids``, the rule of the terms that refuses (``term-violation``, ``details.rule_id``)."""
    examples: dict[str, Any] = {
        "invalid-input": {
            "summary": "A field is malformed (details.field names it)",
            "value": error_body(
                "invalid-input", "name: String should have at most 200 characters", {"field": "name"}
            ),
        }
    }
    for rule_id in rule_ids:
        title = RULES[rule_id]
        examples[f"term-violation-{rule_id}"] = {
            "summary": f"{rule_id} refuses: {title}",
            "value": error_body("term-violation", f"{title} ({rule_id})", {"rule_id": rule_id}),
        }
    description = "`invalid-input`: a field is malformed (`details.field`)."
    if rule_ids:
        description += (
            " `term-violation`: a rule of the terms refuses (`details.rule_id`): "
            + "; ".join(f"{rule_id} ({RULES[rule_id]})" for rule_id in rule_ids)
            + "."
        )
    return {
        422: {
            "model": ErrorBody,
            "description": description,
            "content": {"application/json": {"examples": examples}},
        }
    }


_HTTP_STATUS: dict[type[NuageError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    TermViolation: 422,
    Forbidden: 403,
    UpstreamUnavailable: 503,
}

NO_STORE = {"Cache-Control": "no-store"}

_DATE = " (expected a date as YYYY-MM-DD, e.g. 2026-01-28)"
_DATETIME = " (expected an ISO 8601 date and time with its offset, e.g. 2026-01-28T09:30:00+01:00)"
#: pydantic's error types for dates and times, and the format a person should send instead
_EXPECTED_FORMAT = {
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "date_type": _DATE,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_type": _DATETIME,
    "timezone_aware": _DATETIME,
}


def http_status_for(error: NuageError) -> int:
    """The status for an error of the tree (500 for anything unmapped)."""
    for error_type in type(error).__mro__:
        if error_type in _HTTP_STATUS:
            return _HTTP_STATUS[error_type]
    return 500


def error_body(error_id: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one error shape."""
    return {"error_id": error_id, "message": message, "details": details or {}}


def error_response(
    status: int, error_id: str, message: str, details: dict[str, Any] | None = None, **headers: str
) -> JSONResponse:
    """A JSON error response that no cache keeps."""
    return JSONResponse(
        error_body(error_id, message, details), status_code=status, headers={**NO_STORE, **headers}
    )


def _nuage(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NuageError)
    details = {
        k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
        for k, v in exc.details.items()
    }
    status = http_status_for(exc)
    database_down = isinstance(exc, UpstreamUnavailable) and exc.upstream == "database"
    headers = {"Retry-After": "5"} if database_down else {}
    return error_response(status, exc.error_id, exc.message, details, **headers)


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ())[1:]) or str(err.get("loc", ("",))[0]),
            "location": str(err.get("loc", ("",))[0]),
            "message": field_message(err),
        }
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    return error_response(
        422,
        "invalid-input",
        f"{first['field']}: {first['message']}",
        {"field": first["field"], "errors": errors},
    )


def field_message(err: Any) -> str:
    """Pydantic's message, with the format a person should send when it is a date or a pattern."""
    kind, message = str(err.get("type", "")), str(err.get("msg", ""))
    if kind == "string_pattern_mismatch":
        expected = PATTERN_FORMATS.get(str((err.get("ctx") or {}).get("pattern", "")))
        return f"not in the expected format: {expected}" if expected else message
    return message + _EXPECTED_FORMAT.get(kind, "")


def allowed_methods(request: Request) -> list[str]:
    """Every method some operation of the application answers at this path (the ``Allow`` of a 405).

    Read from the application's OpenAPI description (built once), whose paths every route has."""
    app = request.app
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = []
        for template, item in app.openapi().get("paths", {}).items():
            methods = {m.upper() for m in item if m in _HTTP_METHODS}
            table.append((compile_path(template)[0], methods))
        app.state.allowed_methods = table
    root, path = request.scope.get("root_path", ""), request.scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    found: set[str] = set()
    for pattern, methods in table:
        if pattern.match(path):
            found |= methods
    return sorted(found)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    ids = {404: "not-found", 405: "method-not-allowed", 400: "bad-request", 415: "unsupported-media-type"}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = allowed_methods(request)
        headers["Allow"] = ", ".join(allow) or headers.get("Allow", "")
        return error_response(
            405,
            "method-not-allowed",
            f"{request.method} is not allowed here; use {' or '.join(allow)}",
            {"allowed": allow},
            **headers,
        )
    return error_response(
        exc.status_code, ids.get(exc.status_code, "http-error"), str(exc.detail), {}, **headers
    )


def response_for(exc: Exception) -> Response | None:
    """The API's answer to an exception raised outside the framework's handlers (the fast lane)."""
    if isinstance(exc, NuageError):  # storage translates the database's errors into the tree
        return _nuage(None, exc)  # type: ignore[arg-type]
    return None


def install_edge(app: FastAPI, prefix: str = "/api/") -> None:
    """On the outer application: paths under the API that no route matches get the API's error shape."""
    from fastapi.exception_handlers import http_exception_handler

    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(prefix):
            return _http(request, exc)
        assert isinstance(exc, StarletteHTTPException)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, handler)


def install(app: FastAPI) -> None:
    """Map every error to the one body shape."""
    app.add_exception_handler(NuageError, _nuage)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
