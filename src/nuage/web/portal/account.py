"""Portal pages of one's own: login and logout, the language, the profile and password, own calls.

The login form checks the e-mail and password exactly as the API's password grant does, under the
same failed-login throttle (``nuage.api.resources.oauth.throttled_login``); a user with a second
factor then types its code (``second_factor``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.oauth import password_claims, throttled_login
from nuage.api.resources.users import PasswordChange
from nuage.api.throttle import Wait
from nuage.errors import NuageError
from nuage.services import access as a
from nuage.services.directory.users import UserChanges, update_user
from nuage.services.security import second_factor as second
from nuage.web.portal import i18n, trail
from nuage.web.portal.base import Portal, Viewer, brand_for, read_form, refusal
from nuage.web.portal.selfcare import my_calls, my_recordings
from nuage.web.portal.sessions import csrf_ok

MAX_EMAIL = 320
MAX_PASSWORD = 200


def landing(viewer: Viewer) -> str:
    """Where a user lands after login: the role's main page."""
    kind, role = viewer.claims.account_kind, viewer.claims.role
    if role == "user":
        return "/profile"
    if kind == "operator":
        return "/overview"
    if kind == "partner":
        return "/customers"
    return f"/accounts/{viewer.party.id}/users"


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def login_page(request: Request, status: int = 200, **values: Any) -> Response:
        session = portal.session(request)
        with portal.uow() as uow:
            brand = brand_for(uow, None, request.headers.get("host"))
        return portal.render(request, "login.html", session=session, brand=brand, status=status, **values)

    @routes.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return portal.serve(request, lambda viewer, _: portal.redirect(request, landing(viewer)))

    @routes.get("/login", include_in_schema=False)
    def login_form(request: Request) -> Response:
        return login_page(request)

    @routes.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await read_form(request)
        session = portal.session(request)
        if not csrf_ok(session, form.get("csrf")):
            return login_page(request, 403, problem="csrf")
        email = form.get("email", "").strip()[:MAX_EMAIL]
        password = form.get("password", "")[:MAX_PASSWORD]
        if not email or not password:
            return login_page(request, 400, problem="missing", email=email)
        address = request.client.host if request.client else "unknown"
        claims = await throttled_login(portal.runtime, email, password, address, password_claims)
        if isinstance(claims, Wait):
            return login_page(request, 429, problem="throttled", retry_after=claims.retry_after, email=email)
        if claims is None:
            return login_page(request, 400, problem="wrong", email=email)
        user_id, generation = claims.subject, claims.generation

        def second_step() -> bool:
            """Whether the user has a second factor (then its code comes next); else the login is done."""
            with portal.uow() as uow:
                if second.factor_of(uow, user_id) is not None:
                    return True
                trail.record(
                    uow, portal.clock, request, user_id=user_id, account_id=claims.account_id, action="login"
                )
                return False

        if await run_in_threadpool(second_step):
            return portal.redirect(request, "/login/code", portal.sessions.pend(session, user_id, generation))
        fresh = portal.sessions.log_in(session, user_id, generation)
        return portal.redirect(request, "/", fresh)

    @routes.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = await read_form(request)
        session = portal.session(request)
        if csrf_ok(session, form.get("csrf")):
            portal.sessions.end(session.id)
        return portal.redirect(request, "/login")

    @routes.post("/language", include_in_schema=False)
    async def language(request: Request) -> Response:
        """The page's language: a logged-in user's preference (the same use case as the API's
        ``PATCH /users/{id}``), else the session's."""
        form = await read_form(request)
        chosen = form.get("language", "")
        back = form.get("back", "/")
        back = back if back.startswith("/") and not back.startswith("//") and len(back) < 300 else "/"
        session = portal.session(request)
        if chosen not in i18n.LANGUAGES or not csrf_ok(session, form.get("csrf")):
            return portal.redirect(request, back, session)
        if session.user_id is None:
            portal.sessions.update(replace(session, language=chosen))
            return portal.redirect(request, back, session)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            update_user(uow, viewer.ctx, viewer.user.id, UserChanges(language=chosen))
            uow.commit()
            return portal.redirect(request, back)

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.get("/profile", include_in_schema=False)
    def profile(request: Request) -> Response:
        return portal.serve(request, lambda viewer, _: _profile(portal, request, viewer))

    @routes.post("/profile/password", include_in_schema=False)
    async def password(request: Request) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            viewer.require("directory.users.update", self_id=viewer.user.id)
            try:
                if not a.authenticate_user(
                    uow, viewer.user.email or "", form.get("current", "")[:MAX_PASSWORD]
                ):
                    return _profile(portal, request, viewer, problem="current", status=400)
                body = PasswordChange(password=form.get("password", "")[: MAX_PASSWORD + 1])
                user = a.set_password(uow, viewer.ctx, viewer.user.id, body.password)
            except (ValidationError, NuageError) as error:
                return _profile(portal, request, viewer, refused=refusal(error), status=422)
            uow.commit()
            portal.runtime.state.set_holder(
                user.id, (user.account_id, user.role.value, user.token_generation)
            )
            # the API's tokens of this user end; this browser stays logged in on its new generation
            kept = portal.sessions.log_in(viewer.session, user.id, user.token_generation)
            portal.flash(kept, "password-changed")
            return portal.redirect(request, "/profile", kept)

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.get("/calls", include_in_schema=False)
    def calls(request: Request) -> Response:
        """A user's own call history (the API's ``GET /call-records?user_id=``), with the
        recordings of its calls (CFG-9) played in the page."""

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            records = my_calls(uow, viewer)
            recordings = my_recordings(uow, viewer, records)
            return portal.render(
                request,
                "calls.html",
                session=viewer.session,
                viewer=viewer,
                records=records,
                recordings=recordings,
            )

        return portal.serve(request, work)

    return routes


def _profile(
    portal: Portal, request: Request, viewer: Viewer, *, status: int = 200, **values: Any
) -> Response:
    return portal.render(
        request, "profile.html", session=viewer.session, viewer=viewer, status=status, **values
    )
