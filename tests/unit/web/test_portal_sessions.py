"""Portal sessions: a login draws a new id, sessions expire on the clock, a flood of anonymous
visitors cannot push logged-in users out, and CSRF tokens are compared exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nuage.shared.clock import FrozenClock
from nuage.web.portal.sessions import SessionStore, csrf_ok


def _store(**limits: int) -> tuple[SessionStore, FrozenClock]:
    clock = FrozenClock(datetime(2026, 3, 10, 8, 30, tzinfo=UTC))
    return SessionStore(clock, **limits), clock


def test_a_login_draws_a_new_id_and_token_and_ends_the_anonymous_session() -> None:
    store, _ = _store()
    visitor = store.new(language="fr")
    user = store.log_in(visitor, "usr_1", 3)
    assert store.get(visitor.id) is None
    assert (user.id, user.csrf) != (visitor.id, visitor.csrf)
    assert (user.user_id, user.generation, user.language) == ("usr_1", 3, "fr")
    store.end(user.id)
    assert store.get(user.id) is None


def test_a_session_ends_when_idle_too_long_or_too_old() -> None:
    store, clock = _store()
    session = store.log_in(store.new(), "usr_1", 0)
    for _ in range(24):  # kept alive by a click every 29 minutes (11 h 36 min) ...
        clock.advance(timedelta(minutes=29))
        assert store.get(session.id) is not None
    clock.advance(timedelta(minutes=29))  # ... until twelve hours after the login
    assert store.get(session.id) is None
    idle = store.log_in(store.new(), "usr_2", 0)
    clock.advance(timedelta(minutes=30))
    assert store.get(idle.id) is None


def test_anonymous_visitors_cannot_push_logged_in_users_out() -> None:
    store, _ = _store(limit=10, anonymous_limit=5)
    users = [store.log_in(store.new(), f"usr_{n}", 0) for n in range(10)]
    for _ in range(100):
        store.new()
    assert all(store.get(s.id) is not None for s in users)
    eleventh = store.log_in(store.new(), "usr_10", 0)
    assert store.get(eleventh.id) is not None
    assert sum(store.get(s.id) is None for s in users) == 1  # the least recently seen


def test_csrf_tokens_are_compared_exactly() -> None:
    store, _ = _store()
    session = store.new()
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, None)
    assert not csrf_ok(session, "")
    assert not csrf_ok(session, session.csrf[:-1])
