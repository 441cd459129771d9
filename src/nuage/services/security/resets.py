"""Password reset by e-mail: a single-use link that expires, and a new password under the policy.

Asking for a reset gives the same answer whether the address is known or not (no account
enumeration): only a known address gets an e-mail. The link carries 256 random bits; only their
digest is stored, so a copy of the database opens nothing. A user has one live link at a time (a
new request replaces the old one); a link works once, within :data:`RESET_TTL`. Setting the new
password ends the user's sessions and tokens (``access.set_password``'s token generation) and
its other links. The edge throttles the requests per address and per e-mail address.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from nuage.directory.model import User
from nuage.directory.passwords import check_password
from nuage.errors import InvalidInput
from nuage.services.access import hash_secret
from nuage.services.security.ports import ResetToken, SecurityUnitOfWork
from nuage.services.security.second_factor import digest

RESET_TTL = timedelta(minutes=30)
MAX_TOKEN = 100


def request_reset(uow: SecurityUnitOfWork, email: str, now: datetime) -> tuple[User, str] | None:
    """A new reset token for the user of this e-mail address (and the user), or None when unknown."""
    address = email.strip().lower()
    user = uow.users.find_by(email=address) if 3 <= len(address) <= 320 else None
    if user is None:
        return None
    uow.security.forget_resets(user.id, now)
    token = secrets.token_urlsafe(32)
    uow.security.resets.add(ResetToken(digest(token), user.id, now, now + RESET_TTL))
    return user, token


def live_token(uow: SecurityUnitOfWork, token: str, now: datetime) -> ResetToken | None:
    """The token's record while it may still be used (unknown, used or expired: None)."""
    found = uow.security.resets.find(digest(token)) if 0 < len(token) <= MAX_TOKEN else None
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    return found


def reset_password(uow: SecurityUnitOfWork, token: str, password: str, now: datetime) -> User:
    """Set the new password of the token's user (the policy of ``directory.passwords``) and use the
    token up; its other links, sessions and tokens end."""
    found = live_token(uow, token, now)
    if found is None:
        raise InvalidInput("token", "This link has expired or was already used: ask for a new one")
    user = uow.users.get(found.user_id)
    check_password(password, email=user.email, name=user.name)
    updated = replace(user, password_hash=hash_secret(password), token_generation=user.token_generation + 1)
    uow.users.update(updated)
    uow.security.forget_resets(user.id, now)
    return updated
