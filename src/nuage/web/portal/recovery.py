"""Portal pages of a forgotten password: asking for a link by e-mail (``/password-reset``) and
choosing a new password from it (``/password-reset/{token}``).

Asking gives the same page whether the address is known or not; only a known one gets an e-mail
(in the user's language, through the ``[portal]`` SMTP server). Requests are throttled per address
and per e-mail address with the failed-login throttle (every request counts). The link works once,
for 30 minutes (``services.security.resets``); a second factor is still asked at the next login.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.adapters.smtp import SmtpMailer
from nuage.api.resources.users import PasswordChange
from nuage.api.throttle import login_keys
from nuage.errors import NuageError
from nuage.services.payments.ports import Mailer, MailNotSent
from nuage.services.security import resets
from nuage.web.portal import i18n, trail
from nuage.web.portal.account import MAX_EMAIL, MAX_PASSWORD
from nuage.web.portal.base import Portal, brand_for, read_form, refusal
from nuage.web.portal.sessions import csrf_ok

log = logging.getLogger(__name__)


def mailer_of(portal: Portal) -> Mailer:
    """The SMTP server of the ``[portal]`` settings."""
    settings = portal.runtime.platform.settings.portal
    return SmtpMailer(settings.smtp_host, settings.smtp_port)


def reset_message(to: str, link: str, language: str, sender: str, brand: str) -> EmailMessage:
    """The e-mail that carries a reset link, in the user's language."""
    _ = i18n.gettext(language)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = _("{brand}: choose a new password", brand=brand)
    message.set_content(
        "\n\n".join(
            (
                _("Someone asked to reset the password of this address on {brand}.", brand=brand),
                _("Open this link within 30 minutes to choose a new password (it works once):"),
                link,
                _("If you did not ask for it, ignore this e-mail: your password stays as it is."),
            )
        )
    )
    return message


def router(portal: Portal, mailer: Mailer | None = None) -> APIRouter:
    """The routes of this module over ``portal`` (``mailer``: the settings' SMTP server by default)."""
    routes = APIRouter()
    settings = portal.runtime.platform.settings.portal
    send = mailer or mailer_of(portal)

    def page(request: Request, template: str, status: int = 200, **values: Any) -> Response:
        session = portal.session(request)
        with portal.uow() as uow:
            brand = brand_for(uow, None, request.headers.get("host"))
        return portal.render(request, template, session=session, brand=brand, status=status, **values)

    @routes.get("/password-reset", include_in_schema=False)
    def ask_form(request: Request) -> Response:
        sent = bool(portal.once(portal.session(request)).get("reset_sent"))  # after the form, this once
        return page(request, "password_reset.html", sent=sent)

    @routes.post("/password-reset", include_in_schema=False)
    async def ask(request: Request) -> Response:
        form = await read_form(request)
        session = portal.session(request)
        if not csrf_ok(session, form.get("csrf")):
            return page(request, "password_reset.html", 403, problem="csrf")
        email = form.get("email", "").strip().lower()[:MAX_EMAIL]
        if "@" not in email:
            return page(request, "password_reset.html", 400, problem="missing", email=email)
        rt = portal.runtime
        keys = login_keys(f"reset:{email}", trail.address_of(request))
        now = portal.clock.now()
        wait = await rt.throttle.wait(keys, now.timestamp())
        if wait is not None:
            return page(
                request, "password_reset.html", 429, problem="throttled", retry_after=wait.retry_after
            )
        await rt.throttle.failed(keys, now.timestamp())

        def issue() -> tuple[EmailMessage, str] | None:
            with portal.uow() as uow:
                found = resets.request_reset(uow, email, now)
                if found is None:
                    return None
                user, token = found
                party = uow.parties.get(user.account_id)
                brand = brand_for(uow, party, None).name
                uow.commit()
            chosen = user.language or party.language.value  # the user's language, else its account's
            base = settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
            link = f"{base}/password-reset/{token}"
            mail = reset_message(email, link, chosen, settings.mail_from, brand)
            return mail, user.id

        issued = await run_in_threadpool(issue)
        if issued is not None:
            try:
                await send.send(issued[0])
            except MailNotSent as error:  # the same page: whether an address is known stays unsaid
                log.warning("password reset: the e-mail to user %s was not sent: %s", issued[1], error)
        portal.keep_once(session, reset_sent="yes")  # POST/redirect/GET: a reload sends no second mail
        return portal.redirect(request, "/password-reset", session)

    @routes.get("/password-reset/{token}", include_in_schema=False)
    def choose_form(request: Request, token: str) -> Response:
        def live() -> bool:
            with portal.uow() as uow:
                return resets.live_token(uow, token, portal.clock.now()) is not None

        return page(request, "password_new.html", token=token, expired=not live())

    @routes.post("/password-reset/{token}", include_in_schema=False)
    async def choose(request: Request, token: str) -> Response:
        form = await read_form(request)
        session = portal.session(request)
        if not csrf_ok(session, form.get("csrf")):
            return page(request, "password_new.html", 403, token=token, problem="csrf")
        if form.get("password", "") != form.get("confirm", ""):
            return page(request, "password_new.html", 400, token=token, problem="mismatch")

        def work() -> Response | None:
            with portal.uow() as uow:
                try:
                    body = PasswordChange(password=form.get("password", "")[: MAX_PASSWORD + 1])
                    user = resets.reset_password(uow, token, body.password, portal.clock.now())
                except (ValidationError, NuageError) as error:
                    expired = resets.live_token(uow, token, portal.clock.now()) is None
                    return page(
                        request,
                        "password_new.html",
                        422,
                        token=token,
                        refused=refusal(error),
                        expired=expired,
                    )
                uow.commit()
                portal.runtime.state.set_holder(
                    user.id, (user.account_id, user.role.value, user.token_generation)
                )
                trail.record(
                    uow,
                    portal.clock,
                    request,
                    user_id=user.id,
                    account_id=user.account_id,
                    action="password-reset",
                )
                return None

        refused = await run_in_threadpool(work)
        if refused is not None:
            return refused
        portal.flash(session, "password-reset")
        return portal.redirect(request, "/login", session)

    return routes
