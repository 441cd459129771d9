"""Portal pages of the second factor: the code after the password (``/login/code``) and the
security page (``/security``): enrolment with a QR code, recovery codes shown once (and renewed),
removal.

The code is checked under the same failed-login throttle as passwords (its counters keyed by the
user and the address). A pending login (password passed) waits :data:`PENDING` for its code.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.api.throttle import login_keys
from nuage.errors import NuageError
from nuage.services.security import second_factor as second
from nuage.web.portal import trail
from nuage.web.portal.base import Portal, Viewer, brand_for, read_form, refusal
from nuage.web.portal.sessions import Session, csrf_ok

PENDING = timedelta(minutes=5)
MAX_CODE = 40
CODES = "/security/recovery-codes"  # where new recovery codes are shown, once


def qr_svg(uri: str) -> str:
    """The ``otpauth://`` URI as an inline SVG QR code (drawn on the server: no script, no request)."""
    code = segno.make(uri, error="m")
    svg: str = code.svg_inline(scale=4, dark="#000", light="#fff", title="QR code")
    return svg.replace("<svg ", '<svg role="img" aria-label="QR code" ', 1)


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def pending(request: Request) -> Session | None:
        session = portal.session(request)
        if session.pending_user_id is None or portal.clock.now() - session.created_at >= PENDING:
            return None
        return session

    def code_page(request: Request, session: Session, status: int = 200, **values: Any) -> Response:
        with portal.uow() as uow:
            brand = brand_for(uow, None, request.headers.get("host"))
        return portal.render(
            request, "login_code.html", session=session, brand=brand, status=status, **values
        )

    @routes.get("/login/code", include_in_schema=False)
    def code_form(request: Request) -> Response:
        session = pending(request)
        if session is None:
            return portal.redirect(request, "/login")
        return code_page(request, session)

    @routes.post("/login/code", include_in_schema=False)
    async def code(request: Request) -> Response:
        form = await read_form(request)
        session = pending(request)
        if session is None or session.pending_user_id is None:
            return portal.redirect(request, "/login")
        if not csrf_ok(session, form.get("csrf")):
            return code_page(request, session, 403, problem="csrf")
        typed = form.get("code", "").strip()[:MAX_CODE]
        if not typed:
            return code_page(request, session, 400, problem="missing")
        user_id = session.pending_user_id
        rt = portal.runtime
        keys = login_keys(f"code:{user_id}", trail.address_of(request))
        now = portal.clock.now().timestamp()
        wait = await rt.throttle.wait(keys, now)
        if wait is not None:
            return code_page(request, session, 429, problem="throttled", retry_after=wait.retry_after)
        await rt.throttle.failed(keys, now)  # given back on success, as for passwords

        def check() -> bool:
            with portal.uow() as uow:
                if not second.check(uow, user_id, typed, portal.clock.now()):
                    return False
                user = uow.users.get(user_id)
                trail.record(
                    uow, portal.clock, request, user_id=user_id, account_id=user.account_id, action="login"
                )
                return True

        if not await run_in_threadpool(check):
            return code_page(request, session, 400, problem="wrong")
        await rt.throttle.succeeded(keys)
        fresh = portal.sessions.log_in(session, user_id, session.pending_generation)
        return portal.redirect(request, "/", fresh)

    @routes.get("/security", include_in_schema=False)
    def security(request: Request) -> Response:
        return portal.serve(request, lambda viewer, uow: _security(portal, request, viewer, uow))

    @routes.post("/security/second-factor", include_in_schema=False)
    async def enable(request: Request) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            secret = viewer.session.enrol_secret or ""
            try:
                codes = second.enable(
                    uow, viewer.ctx, viewer.user.id, secret, form.get("code", "")[:MAX_CODE]
                )
            except NuageError as error:
                return _security(portal, request, viewer, uow, refused=refusal(error), status=422)
            uow.commit()
            portal.sessions.update(replace(viewer.session, enrol_secret=None))
            trail.record(
                uow,
                portal.clock,
                request,
                user_id=viewer.user.id,
                account_id=viewer.party.id,
                action="second-factor-enabled",
            )
            portal.keep_once(viewer.session, recovery_codes=" ".join(codes), renewed="")
            return portal.redirect(request, CODES)  # POST/redirect/GET: the codes shown there, this once

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.get(CODES, include_in_schema=False)
    def shown_codes(request: Request) -> Response:
        """The new recovery codes, on the page after the form only; later, the security page."""

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            kept = portal.once(viewer.session)
            if not kept.get("recovery_codes"):
                return portal.redirect(request, "/security")
            codes = kept["recovery_codes"].split()
            renewed = bool(kept.get("renewed"))
            return portal.render(
                request,
                "recovery_codes.html",
                session=viewer.session,
                viewer=viewer,
                codes=codes,
                renewed=renewed,
            )

        return portal.serve(request, work)

    @routes.post("/security/recovery-codes", include_in_schema=False)
    async def renew(request: Request) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            try:
                codes = second.renew_recovery_codes(uow, viewer.ctx, viewer.user.id)
            except NuageError as error:
                return _security(portal, request, viewer, uow, refused=refusal(error), status=422)
            uow.commit()
            portal.keep_once(viewer.session, recovery_codes=" ".join(codes), renewed="yes")
            return portal.redirect(request, CODES)

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/security/second-factor/remove", include_in_schema=False)
    async def remove(request: Request) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            try:
                second.disable(uow, viewer.ctx, viewer.user.id)
            except NuageError as error:
                return _security(portal, request, viewer, uow, refused=refusal(error), status=422)
            uow.commit()
            portal.flash(viewer.session, "second-factor-removed")
            return portal.redirect(request, "/security")

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes


def _security(
    portal: Portal, request: Request, viewer: Viewer, uow: ApiUnitOfWork, *, status: int = 200, **values: Any
) -> Response:
    """The security page: the second factor's state, or its enrolment (a new secret per visit)."""
    factor = second.factor_of(uow, viewer.user.id)
    session = viewer.session
    enrolment: dict[str, Any] = {}
    if factor is None:
        secret = session.enrol_secret
        if secret is None or status == 200:
            secret = second.new_secret()
            session = replace(session, enrol_secret=secret)
            portal.sessions.update(session)
        uri = second.otpauth_uri(secret, viewer.user.email or viewer.user.id, viewer.brand.name)
        grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        enrolment = {"secret": grouped, "qr": qr_svg(uri), "uri": uri}
    required = second.required_for(viewer.user, viewer.party)
    return portal.render(
        request,
        "security.html",
        session=session,
        viewer=viewer,
        status=status,
        factor=factor,
        required=required,
        **enrolment,
        **values,
    )
