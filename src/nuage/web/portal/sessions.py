"""Portal sessions: who is logged in on a browser, its CSRF token, and when the session ends.

A session lives on the server (:class:`SessionStore`); the browser holds only its random id in
the ``nuage_session`` cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the page came over
HTTPS, no ``Max-Age`` (gone with the browser). Every visitor, even before logging in, gets a
session so that the login form carries a CSRF token too; a login draws a new id (no fixation).

A session ends after ``idle`` without a request or ``lifetime`` after its login, whichever comes
first (the platform's clock), at logout, and when its user's password changes (the user's token
generation moves on: checked on every request by the pages, like the API's tokens). A user with
a second factor is first ``pending`` (password passed, code awaited) on an anonymous session.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from nuage.shared.clock import Clock

COOKIE = "nuage_session"
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
MAX_SESSIONS = 100_000
MAX_ANONYMOUS = 20_000


@dataclass(frozen=True)
class Session:
    """One browser's session; ``user_id`` is None until it logs in."""

    id: str
    csrf: str
    created_at: datetime
    seen_at: datetime
    user_id: str | None = None
    generation: int = 0  # the user's token generation at login
    language: str | None = None  # chosen before login, or by a user without a preference
    flash: tuple[str, ...] = field(default=())
    pending_user_id: str | None = None  # passed the password, awaits its second factor's code
    pending_generation: int = 0
    enrol_secret: str | None = None  # the TOTP secret shown on the enrolment page, until confirmed
    once: tuple[tuple[str, str], ...] = field(default=())  # shown by the next page only (a new secret)
    once_until: datetime | None = None  # ... and only until then (a short while after the form)


def _token() -> str:
    return secrets.token_urlsafe(32)


class SessionStore:
    """The sessions of this web node, bounded in number (the least recently seen forgotten first).

    Anonymous sessions (a login form's) and logged-in ones are bounded apart: a flood of visitors
    who never log in cannot push a logged-in user out. Safe to use from several threads.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        idle: timedelta = IDLE,
        lifetime: timedelta = LIFETIME,
        limit: int = MAX_SESSIONS,
        anonymous_limit: int = MAX_ANONYMOUS,
    ) -> None:
        self._clock = clock
        self._idle = idle
        self._lifetime = lifetime
        self._limits = {True: limit, False: anonymous_limit}
        self._sessions: dict[bool, dict[str, Session]] = {True: {}, False: {}}  # by "logged in"
        self._lock = threading.Lock()

    def _live(self, session: Session, now: datetime) -> bool:
        return now - session.seen_at < self._idle and now - session.created_at < self._lifetime

    def get(self, session_id: str | None, *, touch: bool = True) -> Session | None:
        """The live session of this id (touched: its idle time starts again, unless a live page's
        stream is only looking), or None."""
        if not session_id or len(session_id) > 64:
            return None
        now = self._clock.now()
        with self._lock:
            session = self._sessions[True].get(session_id) or self._sessions[False].get(session_id)
            if session is None:
                return None
            if not self._live(session, now):
                self._drop(session_id)
                return None
            if not touch:
                return session
            touched = replace(session, seen_at=now)
            self._put(touched)
            return touched

    def new(self, *, language: str | None = None) -> Session:
        """A fresh anonymous session."""
        now = self._clock.now()
        session = Session(_token(), _token(), now, now, language=language)
        with self._lock:
            self._put(session)
        return session

    def log_in(self, old: Session, user_id: str, generation: int) -> Session:
        """A new session (new id and CSRF token) for ``user_id``; the old one ends."""
        now = self._clock.now()
        session = Session(_token(), _token(), now, now, user_id, generation, old.language)
        with self._lock:
            self._drop(old.id)
            self._put(session)
        return session

    def pend(self, old: Session, user_id: str, generation: int) -> Session:
        """A new anonymous session (new id) for a user who passed the password and must now type
        its second factor's code; the old one ends."""
        now = self._clock.now()
        session = Session(_token(), _token(), now, now, language=old.language)
        session = replace(session, pending_user_id=user_id, pending_generation=generation)
        with self._lock:
            self._drop(old.id)
            self._put(session)
        return session

    def update(self, session: Session) -> None:
        """Keep a changed session (its language, its flash messages) if it is still there."""
        with self._lock:
            if session.id in self._sessions[session.user_id is not None]:
                self._put(session)

    def end(self, session_id: str) -> None:
        """Log out: the id no longer opens anything."""
        with self._lock:
            self._drop(session_id)

    def _drop(self, session_id: str) -> None:
        for kept in self._sessions.values():
            kept.pop(session_id, None)

    def _put(self, session: Session) -> None:
        kept = self._sessions[session.user_id is not None]
        kept.pop(session.id, None)
        kept[session.id] = session  # last in the order: the most recently seen
        while len(kept) > self._limits[session.user_id is not None]:
            del kept[next(iter(kept))]


def csrf_ok(session: Session, sent: str | None) -> bool:
    """Whether a form carries its session's CSRF token (compared in constant time)."""
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), (sent or "").encode())
