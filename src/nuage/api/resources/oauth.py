"""Tokens (API-1): ``POST /oauth/token`` (OAuth 2, RFC 6749), ``POST /oauth/revoke`` (RFC 7009)
and ``GET /me``.

* API clients: ``grant_type=client_credentials`` (§4.4), the client ID and secret in HTTP Basic
  or in the form;
* portal users: ``grant_type=password`` (§4.3) with ``username`` (the e-mail) and ``password``;
  a user with a second factor also sends ``totp`` (a current code or an unused recovery code).

Failed attempts slow their account and address down (``nuage.api.throttle``): an attempt that
comes too early is 429 ``login-throttled`` with ``Retry-After``, its password unchecked. Errors
follow RFC 6749 §5.2 (``error``, ``error_description``) and also carry the API's own
``error_id``/``message``/``details``. Token answers are never cached (``no-store``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from nuage.api.caching import read_response
from nuage.api.crud import NOT_MODIFIED, responses
from nuage.api.deps import ApiRuntime, current_claims, runtime
from nuage.api.throttle import Wait, login_keys
from nuage.api.tokens import Claims, new_token_id
from nuage.services import access as a
from nuage.services.context import Context
from nuage.services.security import second_factor as second
from nuage.tenancy.rules import TenantScope

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenOut(BaseModel):
    """RFC 6749 §5.1: a short-lived bearer token."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class OAuthError(BaseModel):
    """RFC 6749 §5.2, plus the API's own error shape."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "temporarily_unavailable",
    ]
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


def _oauth_error(
    status: int,
    error: str,
    description: str,
    *,
    error_id: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    sent = {**_NO_STORE, **(headers or {})}
    if error == "invalid_client":
        sent["WWW-Authenticate"] = 'Basic realm="nuage-api"'
    body = {
        "error": error,
        "error_description": description,
        "error_id": error_id or error.replace("_", "-"),
        "message": description,
        "details": details or {},
    }
    return JSONResponse(body, status_code=status, headers=sent)


def _throttled(wait: Wait) -> JSONResponse:
    whom = {"account-and-address": "this account from this address", "account": "this account"}
    description = (
        f"Too many failed logins for {whom.get(wait.scope, 'this address')}: "
        f"try again in {wait.retry_after} s"
    )
    return _oauth_error(
        429,
        "temporarily_unavailable",
        description,
        error_id="login-throttled",
        details={"retry_after_s": wait.retry_after, "scope": wait.scope},
        headers={"Retry-After": str(wait.retry_after)},
    )


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):  # binascii.Error, or a value that is not ASCII
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
        "totp": {
            "type": "string",
            "description": "password grant, for a user with a second factor: the current TOTP code "
            "(RFC 6238) or an unused recovery code",
        },
        "scope": {"type": "string", "description": "ignored: a token carries its client's or user's role"},
    },
}


_REVOKE_SCHEMA = {
    "type": "object",
    "required": ["token"],
    "properties": {
        "token": {"type": "string", "description": "the access token to revoke"},
        "token_type_hint": {"type": "string", "description": "ignored: every token is an access token"},
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
        429: {
            "model": OAuthError,
            "description": "login-throttled: too many failed logins for this account or address; "
            "the password was not checked. Retry after `Retry-After` seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
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
    "(API-1), `password` (§4.3) for portal users. The token is short-lived; the response is `no-store`. "
    "Failed attempts slow down their account and address: once past a few, each further failure doubles "
    "the wait (429 `login-throttled`, `Retry-After`), up to a ceiling; a success clears the account's."
    "\n\nPermission: none (public).",
)
async def token(request: Request, rt: ApiRuntime = Depends(runtime)) -> Response:
    form = await _read_form(request)
    if isinstance(form, Response):
        return form
    grant = form.get("grant_type")
    if grant is None:
        return _oauth_error(400, "invalid_request", "grant_type is required")
    if grant == "client_credentials":
        basic = _basic(request)
        account, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if not account or not secret:
            return _oauth_error(401, "invalid_client", "Client authentication is required")
    elif grant == "password":
        account, secret = form.get("username", ""), form.get("password", "")
        if not account or not secret:
            return _oauth_error(400, "invalid_request", "username and password are required")
    else:
        return _oauth_error(400, "unsupported_grant_type", "Use client_credentials or password")
    code = form.get("totp", "")[:40]

    def check_user(rt: ApiRuntime, email: str, password: str) -> Claims | None:
        return user_claims(rt, email, password, code)

    check = _client_claims if grant == "client_credentials" else check_user
    address = request.client.host if request.client else "unknown"
    claims = await throttled_login(rt, account, secret, address, check)
    if isinstance(claims, Wait):
        return _throttled(claims)
    if claims is None:
        if grant == "client_credentials":
            return _oauth_error(
                401, "invalid_client", "Unknown client, wrong secret, or the client lost access"
            )
        return _oauth_error(
            400,
            "invalid_grant",
            "Wrong e-mail or password (or, for a user with a second factor, `totp` code)",
        )
    rt.state.maybe_refresh()
    body = TokenOut(
        access_token=rt.signer.issue(claims), token_type="Bearer", expires_in=rt.settings.token_ttl_s
    )
    return Response(body.model_dump_json(), media_type="application/json", headers=_NO_STORE)


async def throttled_login(
    rt: ApiRuntime,
    account: str,
    secret: str,
    address: str,
    check: Callable[[ApiRuntime, str, str], Claims | None],
) -> Claims | Wait | None:
    """A login (a token request, the portal's login form) under the failed-login throttle: the
    wait when it comes too early (its secret unchecked), else the claims, or None when refused."""
    keys = login_keys(account, address)
    now = rt.platform.clock.now().timestamp()
    wait = await rt.throttle.wait(keys, now)
    if wait is not None:
        return wait
    # counted before the check and given back on success: attempts sent at once cannot all slip through
    await rt.throttle.failed(keys, now)
    claims = await run_in_threadpool(check, rt, account, secret)
    if claims is not None:
        await rt.throttle.succeeded(keys)
    return claims


async def _read_form(request: Request) -> dict[str, str] | Response:
    """The small url-encoded form of an OAuth request, or the RFC 6749 error that refuses it."""
    if (
        request.headers.get("content-type", "").split(";")[0].strip().lower()
        != "application/x-www-form-urlencoded"
    ):
        return _oauth_error(400, "invalid_request", "Send the form as application/x-www-form-urlencoded")
    raw = await request.body()
    if len(raw) > 8192:
        return _oauth_error(400, "invalid_request", "The form is too large")
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return _oauth_error(400, "invalid_request", "The form is not valid UTF-8 form encoding")


def _claims(
    rt: ApiRuntime,
    subject: str,
    kind: Literal["client", "user"],
    account_id: str,
    role: str,
    account_kind: str,
    generation: int = 0,
) -> Claims:
    now = int(rt.platform.clock.now().timestamp())
    return Claims(
        subject,
        kind,
        account_id,
        account_kind,
        role,
        now,
        now + rt.settings.token_ttl_s,
        token_id=new_token_id(),
        generation=generation,
    )


def _client_claims(rt: ApiRuntime, client_id: str, secret: str) -> Claims | None:
    with rt.uow() as uow:
        client = a.authenticate_client(uow.access, client_id, secret)
        if client is None:
            return None
        party = uow.parties.get(client.account_id)
        return _claims(rt, client.id, "client", party.id, client.role.value, party.kind.value)


def password_claims(rt: ApiRuntime, email: str, password: str) -> Claims | None:
    """A portal user's claims when the e-mail and password match (argon2), else None; the portal
    asks for the second factor's code on a page of its own."""
    return user_claims(rt, email, password, None, second_factor=False)


def user_claims(
    rt: ApiRuntime, email: str, password: str, code: str | None = None, *, second_factor: bool = True
) -> Claims | None:
    """A portal user's claims when the e-mail and password match (argon2) and, for a user with a
    second factor, ``code`` is a current TOTP code or an unused recovery code; else None."""
    with rt.uow() as uow:
        user = a.authenticate_user(uow, email, password)
        if user is None:
            return None
        if second_factor and second.factor_of(uow, user.id) is not None:
            if not code or not second.check(uow, user.id, code, rt.platform.clock.now()):
                return None
            uow.commit()  # the code is used up
        party = uow.parties.get(user.account_id)
        role, kind = user.role.value, party.kind.value
        return _claims(rt, user.id, "user", party.id, role, kind, user.token_generation)


@router.post(
    "/oauth/revoke",
    status_code=200,
    response_class=Response,
    summary="Revoke a token",
    tags=["auth"],
    responses={
        200: {"description": "RFC 7009 §2.2: revoked, or it was not a valid token (the same answer)"},
        400: {"model": OAuthError, "description": "RFC 7009 §2.2.1: invalid_request (no token)"},
    },
    openapi_extra={
        "security": [],
        "x-permission": "none (public: holding the token is the proof)",
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": _REVOKE_SCHEMA}},
        },
    },
    description="OAuth 2 token revocation (RFC 7009), form-encoded: the token stops working at once on "
    "this node and within `api.state_refresh_s` on the others, until it would have expired. Holding "
    "the token is the proof: no other authentication is asked. An invalid or expired token gets the "
    "same 200 (§2.2).\n\nPermission: none (public).",
)
async def revoke(request: Request, rt: ApiRuntime = Depends(runtime)) -> Response:
    form = await _read_form(request)
    if isinstance(form, Response):
        return form
    text = form.get("token", "")
    if not text:
        return _oauth_error(400, "invalid_request", "token is required")
    now = rt.platform.clock.now()
    claims = rt.signer.verify(text.strip(), int(now.timestamp()))
    if claims is not None and claims.token_id:
        await run_in_threadpool(_revoke, rt, claims)
        rt.state.revoke_token(claims.token_id)
    return Response(status_code=200, headers=_NO_STORE)


def _revoke(rt: ApiRuntime, claims: Claims) -> None:
    with rt.uow() as uow:
        own = TenantScope(claims.account_id, frozenset({claims.account_id}))
        ctx = Context(own, rt.platform.clock)
        expires = datetime.fromtimestamp(claims.expires_at, UTC)
        a.revoke_token(uow.access, ctx, claims.token_id, claims.subject, expires)
        uow.commit()


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
