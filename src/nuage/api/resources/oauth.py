"""Tokens (API-1): ``POST /oauth/token`` (OAuth 2, RFC 6749) and ``GET /me``.

* API clients: ``grant_type=client_credentials`` (§4.4), the client ID and secret in HTTP Basic
  or in the form;
* portal users: ``grant_type=password`` (§4.3) with ``username`` (the e-mail) and ``password``.

Errors follow RFC 6749 §5.2 (``error``, ``error_description``) and also carry the API's own
``error_id``/``message``/``details``. Token answers are never cached (``no-store``).
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from nuage.api.caching import read_response
from nuage.api.crud import NOT_MODIFIED, responses
from nuage.api.deps import ApiRuntime, current_claims, runtime
from nuage.api.tokens import Claims
from nuage.services import access as a

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenOut(BaseModel):
    """RFC 6749 §5.1: a short-lived bearer token."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class OAuthError(BaseModel):
    """RFC 6749 §5.2, plus the API's own error shape."""

    error: Literal["invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type"]
    error_description: str
    error_id: str
    message: str
    details: dict[str, Any]


class MeOut(BaseModel):
    """Who the token speaks for."""

    subject: str
    kind: Literal["client", "user"]
    account_id: str
    account_kind: str
    role: str
    expires_at: int


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = dict(_NO_STORE)
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="nuage-api"'
    body = {
        "error": error,
        "error_description": description,
        "error_id": error.replace("_", "-"),
        "message": description,
        "details": {},
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = decoded.partition(":")
    return (unquote_plus(user), unquote_plus(secret)) if sep else None


router = APIRouter()

_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials", "password"]},
        "client_id": {"type": "string", "description": "client_credentials: unless sent with HTTP Basic"},
        "client_secret": {"type": "string", "description": "client_credentials: unless sent with HTTP Basic"},
        "username": {"type": "string", "description": "password grant: the user's e-mail"},
        "password": {"type": "string", "description": "password grant"},
        "scope": {"type": "string", "description": "ignored: a token carries its client's or user's role"},
    },
}


@router.post(
    "/oauth/token",
    response_model=TokenOut,
    summary="Get a bearer token",
    tags=["auth"],
    responses={
        400: {
            "model": OAuthError,
            "description": "RFC 6749 §5.2: invalid_request, invalid_grant, unsupported_grant_type",
        },
        401: {
            "model": OAuthError,
            "description": "RFC 6749 §5.2 invalid_client: unknown, wrong secret, suspended or revoked",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        },
    },
    openapi_extra={
        "security": [],
        "x-permission": "none (public)",
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA}},
        },
    },
    description="OAuth 2 token endpoint, form-encoded. `client_credentials` (RFC 6749 §4.4) for API clients "
    "(API-1), `password` (§4.3) for portal users. The token is short-lived; the response is `no-store`."
    "\n\nPermission: none (public).",
)
async def token(request: Request, rt: ApiRuntime = Depends(runtime)) -> Response:
    if (
        request.headers.get("content-type", "").split(";")[0].strip().lower()
        != "application/x-www-form-urlencoded"
    ):
        return _oauth_error(400, "invalid_request", "Send the form as application/x-www-form-urlencoded")
    raw = await request.body()
    if len(raw) > 8192:
        return _oauth_error(400, "invalid_request", "The form is too large")
    try:
        form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return _oauth_error(400, "invalid_request", "The form is not valid UTF-8 form encoding")
    grant = form.get("grant_type")
    if grant is None:
        return _oauth_error(400, "invalid_request", "grant_type is required")
    if grant == "client_credentials":
        basic = _basic(request)
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if not client_id or not secret:
            return _oauth_error(401, "invalid_client", "Client authentication is required")
        claims = await run_in_threadpool(_client_claims, rt, client_id, secret)
        if claims is None:
            return _oauth_error(
                401, "invalid_client", "Unknown client, wrong secret, or the client lost access"
            )
    elif grant == "password":
        username, password = form.get("username", ""), form.get("password", "")
        if not username or not password:
            return _oauth_error(400, "invalid_request", "username and password are required")
        claims = await run_in_threadpool(_user_claims, rt, username, password)
        if claims is None:
            return _oauth_error(400, "invalid_grant", "Wrong e-mail or password")
    else:
        return _oauth_error(400, "unsupported_grant_type", "Use client_credentials or password")
    rt.state.maybe_refresh()
    body = TokenOut(
        access_token=rt.signer.issue(claims), token_type="Bearer", expires_in=rt.settings.token_ttl_s
    )
    return Response(body.model_dump_json(), media_type="application/json", headers=_NO_STORE)


def _claims(
    rt: ApiRuntime,
    subject: str,
    kind: Literal["client", "user"],
    account_id: str,
    role: str,
    account_kind: str,
) -> Claims:
    now = int(time.time())
    return Claims(subject, kind, account_id, account_kind, role, now, now + rt.settings.token_ttl_s)


def _client_claims(rt: ApiRuntime, client_id: str, secret: str) -> Claims | None:
    with rt.uow() as uow:
        client = a.authenticate_client(uow.access, client_id, secret)
        if client is None:
            return None
        party = uow.parties.get(client.account_id)
        return _claims(rt, client.id, "client", party.id, client.role.value, party.kind.value)


def _user_claims(rt: ApiRuntime, email: str, password: str) -> Claims | None:
    with rt.uow() as uow:
        user = a.authenticate_user(uow, email, password)
        if user is None:
            return None
        party = uow.parties.get(user.account_id)
        return _claims(rt, user.id, "user", party.id, user.role.value, party.kind.value)


@router.get(
    "/me",
    response_model=MeOut,
    summary="Who the token speaks for",
    tags=["auth"],
    responses=responses(NOT_MODIFIED),
    description="The client or user, its account and role. Any valid token.\n\nPermission: none (any token).",
    openapi_extra={"x-permission": "none (any valid token)"},
)
def me(request: Request, claims: Claims = Depends(current_claims)) -> Response:
    out = MeOut(
        subject=claims.subject,
        kind=claims.kind,
        account_id=claims.account_id,
        account_kind=claims.account_kind,
        role=claims.role,
        expires_at=claims.expires_at,
    )
    return read_response(request, out.model_dump_json().encode())
