"""What every portal page shares: the viewer behind the session, its brand and language, rendering.

A page's viewer is rebuilt from storage on every request (the user, its account, its role): a
removed user, a changed role or a new password (token generation) takes effect at the next click,
as for the API's tokens. Scope and permissions are the API's (``scope_for_claims``, ``granted``):
the portal is another face of the same use cases, not a second set of rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from nuage.api.deps import ApiRuntime, ApiUnitOfWork, scope_for_claims
from nuage.api.errors import Forbidden, field_message
from nuage.api.permissions import granted, self_granted
from nuage.api.tokens import Claims
from nuage.directory.model import User
from nuage.errors import InvalidInput, NotFound, NuageError, TermViolation
from nuage.services.context import Context
from nuage.services.security import second_factor as second
from nuage.shared.clock import Clock
from nuage.tenancy.model import Party, PartyKind
from nuage.web.headers import new_nonce, portal_policy
from nuage.web.portal import i18n, trail
from nuage.web.portal.sessions import COOKIE, Session, SessionStore, csrf_ok
from nuage.web.portal.streams import LiveStreams

Form = dict[str, str]
MAX_FORM_BYTES = 16_384

TEMPLATES = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent.parent / "templates" / "portal")),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
NO_STORE = {"Cache-Control": "no-store"}
ENROLMENT = "/security"  # where a user who must have a second factor is sent until it has one
ONCE_FOR = timedelta(minutes=2)  # how long a one-time value (a new SIP password) waits for its page


@dataclass(frozen=True)
class Brand:
    """TEN-2: the name and colours a page shows (the partner's when it chose its own)."""

    name: str
    primary: str = "#1d4e89"
    secondary: str = "#f3f5f8"
    support_email: str | None = None

    @classmethod
    def of(cls, party: Party | None) -> Brand:
        """A white-label partner's brand, else the platform's."""
        if party is None or not party.white_label:
            return cls("Nuage")
        primary = party.brand_primary_color or ""
        secondary = party.brand_secondary_color or ""
        return cls(
            party.brand_name or "Nuage",
            primary if _COLOUR.match(primary) else cls.primary,
            secondary if _COLOUR.match(secondary) else cls.secondary,
            party.brand_support_email,
        )


def brand_for(uow: ApiUnitOfWork, party: Party | None, host: str | None) -> Brand:
    """TEN-2: a customer sees its partner's brand, a partner its own; before login, the host's."""
    if party is not None:
        if party.kind is PartyKind.CUSTOMER and party.partner_id:
            return Brand.of(uow.parties.find(party.partner_id))
        return Brand.of(party)
    name = (host or "").split(":")[0].lower()[:253]
    if name:
        return Brand.of(uow.parties.find_by(kind=PartyKind.PARTNER.value, brand_portal_host=name))
    return Brand("Nuage")


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a page: its claims (as the API would issue them) and scope."""

    session: Session
    user: User
    party: Party
    claims: Claims
    ctx: Context
    brand: Brand
    language: str
    must_enrol: bool = False  # an operator or partner administrator without a second factor yet

    def may(self, permission: str, *, self_id: str | None = None) -> bool:
        """Whether the API would let this user do ``permission``."""
        if granted(self.claims, permission):
            return True
        return self_id is not None and self_granted(self.claims, permission, self_id)

    def require(self, permission: str, *, self_id: str | None = None) -> None:
        """403 unless allowed (the object is visible: TEN-4 checks come first)."""
        if not self.may(permission, self_id=self_id):
            raise Forbidden(permission)


class LoginRequired(Exception):
    """No live session: the page answers with the login page."""


class Portal:
    """The portal's runtime: the API's runtime (units of work, throttle, clock) and the sessions."""

    def __init__(self, runtime: ApiRuntime, sessions: SessionStore) -> None:
        self.runtime = runtime
        self.sessions = sessions
        self.live = LiveStreams()  # the pages' server-sent event streams (``live``)

    @property
    def clock(self) -> Clock:
        """The platform's clock (sessions' expiry, the claims' times)."""
        return self.runtime.platform.clock

    @contextmanager
    def uow(self) -> Iterator[ApiUnitOfWork]:
        with self.runtime.uow() as uow:
            yield uow

    def session(self, request: Request) -> Session:
        """The browser's live session, or a new anonymous one (set on the answer by :meth:`page`)."""
        found = self.sessions.get(request.cookies.get(COOKIE))
        return found if found is not None else self.sessions.new()

    def viewer(self, request: Request, uow: ApiUnitOfWork, *, touch: bool = True) -> Viewer:
        """The logged-in viewer in this transaction, or :class:`LoginRequired` (``touch=False``:
        a live page's stream, which does not keep an idle session alive)."""
        session = self.sessions.get(request.cookies.get(COOKIE), touch=touch)
        if session is None or session.user_id is None:
            raise LoginRequired()
        user = uow.users.find(session.user_id)
        if user is None or user.token_generation != session.generation or user.password_hash is None:
            self.sessions.end(session.id)  # removed, or its password changed since: log in again
            raise LoginRequired()
        party = uow.parties.get(user.account_id)
        now = int(self.clock.now().timestamp())
        claims = Claims(user.id, "user", party.id, party.kind.value, user.role.value, now, now)
        ctx = Context(scope_for_claims(uow, claims), self.clock)
        language = i18n.choose(user.language, session.language, request.headers.get("accept-language"))
        brand = brand_for(uow, party, None)
        must_enrol = second.required_for(user, party) and second.factor_of(uow, user.id) is None
        return Viewer(session, user, party, claims, ctx, brand, language, must_enrol)

    def render(
        self,
        request: Request,
        template: str,
        *,
        session: Session,
        viewer: Viewer | None = None,
        brand: Brand | None = None,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        """A page in the viewer's language and brand, with its CSP nonce and the session cookie."""
        language = (
            viewer.language
            if viewer
            else i18n.choose(None, session.language, request.headers.get("accept-language"))
        )
        nonce = new_nonce()
        flash = session.flash
        if flash or session.once:  # shown by this page, never again
            self.sessions.update(replace(session, flash=(), once=(), once_until=None))
        html = TEMPLATES.get_template(template).render(
            _=i18n.gettext(language),
            money=lambda amount, currency: i18n.money(amount, currency, language),
            number=lambda value: i18n.number(value, language),
            day=lambda value: i18n.day(value, language),
            moment=lambda value: i18n.moment(value, language),
            language=language,
            languages=i18n.LANGUAGES,
            viewer=viewer,
            brand=viewer.brand if viewer else (brand or Brand("Nuage")),
            csrf=session.csrf,
            csp_nonce=nonce,
            flash=flash,
            path=request.url.path,
            **values,
        )
        headers = {"Content-Security-Policy": portal_policy(nonce), **NO_STORE}
        answer = HTMLResponse(html, status_code=status, headers=headers)
        self.set_cookie(request, answer, session)
        return answer

    def set_cookie(self, request: Request, answer: Response, session: Session) -> None:
        """The session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS, gone with the browser."""
        answer.set_cookie(
            COOKIE,
            session.id,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )

    def redirect(self, request: Request, to: str, session: Session | None = None) -> RedirectResponse:
        """303 to ``to`` (after a form), keeping the session cookie when given."""
        answer = RedirectResponse(to, status_code=303, headers=NO_STORE)
        if session is not None:
            self.set_cookie(request, answer, session)
        return answer

    def serve(
        self, request: Request, work: Callable[[Viewer, ApiUnitOfWork], Response], form: Form | None = None
    ) -> Response:
        """Run a page for the logged-in viewer in one transaction; a form must carry the session's
        CSRF token. Another tenant's object is the 404 page (TEN-4), a missing permission 403."""
        with self.uow() as uow:
            try:
                viewer = self.viewer(request, uow)
            except LoginRequired:
                return self.redirect(request, "/login")
            if viewer.must_enrol and not request.url.path.startswith((ENROLMENT, "/language")):
                return self.redirect(request, ENROLMENT)  # operator and partner administrators
            try:
                if form is not None and not csrf_ok(viewer.session, form.get("csrf")):
                    return self.error(request, viewer, 403, "csrf")
                answer = work(viewer, uow)
                if form is not None and answer.status_code < 400:  # an accepted change: audit log
                    trail.record(uow, self.clock, request, user_id=viewer.user.id, account_id=viewer.party.id)
                return answer
            except NotFound:
                return self.error(request, viewer, 404, "not-found")
            except Forbidden:
                return self.error(request, viewer, 403, "forbidden")

    def error(self, request: Request, viewer: Viewer, status: int, error_id: str) -> HTMLResponse:
        """The error page (its words in the viewer's language, its ``error_id`` for support)."""
        return self.render(
            request, "error.html", session=viewer.session, viewer=viewer, status=status, error_id=error_id
        )

    def flash(self, session: Session, message: str) -> None:
        """A message the next page shows once."""
        session = self.sessions.get(session.id, touch=False) or session  # as changed since
        self.sessions.update(replace(session, flash=(*session.flash, message)))

    def keep_once(self, session: Session, **values: str) -> None:
        """Values (a new secret) for the next page only, on the server: a form answers with a
        redirect (POST/redirect/GET), and the page it leads to shows them this once, if it comes
        within :data:`ONCE_FOR`. Reloading that page shows them no more."""
        until = self.clock.now() + ONCE_FOR
        session = self.sessions.get(session.id, touch=False) or session  # as changed since
        self.sessions.update(replace(session, once=tuple(values.items()), once_until=until))

    def once(self, session: Session) -> dict[str, str]:
        """The one-time values kept for this page (forgotten once it is rendered), or none."""
        if not session.once or session.once_until is None or self.clock.now() > session.once_until:
            return {}
        return dict(session.once)


@dataclass(frozen=True)
class Refusal:
    """Why a form was refused, for the page: the message, the field, the rule of the terms."""

    message: str
    field: str | None = None
    rule_id: str | None = None


def refusal(error: Exception) -> Refusal:
    """A refused form's reason, in the API's words (the same messages, the rule ID when a term says no)."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        return Refusal(f"{field}: {field_message(first)}" if field else field_message(first), field)
    if isinstance(error, TermViolation):
        return Refusal(error.message, error.details.get("field"), error.rule_id)
    if isinstance(error, InvalidInput):
        rule = re.search(r"\(([A-Z]{2,4}-\d+)\)", error.message)
        return Refusal(error.message, error.field, rule.group(1) if rule else None)
    if isinstance(error, NuageError):
        return Refusal(error.message, error.details.get("field"), error.details.get("rule_id"))
    raise error


async def read_form(request: Request) -> Form:
    """A posted url-encoded form, bounded at the edge (a larger or undecodable one is empty:
    its CSRF token is missing, so the page refuses it)."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return {}
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError):
        return {}


def form_text(form: Form, name: str, limit: int = 400) -> str | None:
    """A form field, trimmed, None when empty; bounded (longer is cut, then refused by the model)."""
    value = form.get(name, "").strip()[: limit + 1]
    return value or None


__all__ = [
    "Brand",
    "LoginRequired",
    "NotFound",
    "Portal",
    "Refusal",
    "Viewer",
    "form_text",
    "read_form",
    "refusal",
]
