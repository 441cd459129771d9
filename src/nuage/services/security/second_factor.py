"""The second factor: TOTP codes (RFC 6238) from an authenticator app, and recovery codes.

A code is 6 digits over 30-second steps (SHA-1, the authenticator apps' default); one step either
side of the server's clock is accepted (a phone's clock drifts, a user types slowly). A code is
accepted once: the step of the last accepted code is kept, and that step and every earlier one are
refused afterwards (RFC 6238 §5.2), so a code seen over a shoulder cannot be replayed.

Enrolment shows a new secret (as text and as an ``otpauth://`` QR code); the factor is stored
only once the user typed a right code from it. Ten recovery codes are then shown once and kept as
digests; each opens one login in place of a code.

Operator and partner administrators must have a second factor (they are sent to enrolment until
they have one, and cannot remove it); everyone else may choose to.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import replace
from datetime import datetime

import pyotp

from nuage.directory.model import Role, User
from nuage.errors import InvalidInput, NotFound
from nuage.services.context import Context
from nuage.services.security.ports import SecondFactor, SecurityUnitOfWork
from nuage.tenancy.model import Party, PartyKind

DIGITS = 6
STEP_S = 30
WINDOW = 1  # steps accepted either side of the server's clock
RECOVERY_CODES = 10
_CODE = re.compile(r"^\d{6}$")
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    """A new TOTP secret: 160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at ``at`` (for tests and the demo)."""
    return str(_totp(secret).at(at))


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from the QR code."""
    return str(_totp(secret).provisioning_uri(name=account, issuer_name=issuer))


def matching_step(secret: str, code: str, at: datetime, last_step: int) -> int | None:
    """The time step ``code`` belongs to, within the window and later than ``last_step``, else None."""
    if not _CODE.match(code):
        return None
    totp = _totp(secret)
    now = int(totp.timecode(at))
    for step in range(now - WINDOW, now + WINDOW + 1):
        if step > last_step and hmac.compare_digest(str(totp.generate_otp(step)), code):
            return step
    return None


def digest(value: str) -> str:
    """The SHA-256 digest a long random value (a recovery code, a reset token) is kept as."""
    return hashlib.sha256(value.encode()).hexdigest()


def _normal_recovery(code: str) -> str:
    return re.sub(r"[\s-]", "", code.lower())[:40]


def new_recovery_codes() -> list[str]:
    """Ten recovery codes like ``k7mq-2xwp-ct9e`` (about 59 random bits each)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def required_for(user: User, party: Party) -> bool:
    """Whether this user must have a second factor: operator and partner administrators."""
    return user.role is Role.ADMINISTRATOR and party.kind in (PartyKind.OPERATOR, PartyKind.PARTNER)


def _own_user(uow: SecurityUnitOfWork, ctx: Context, user_id: str) -> User:
    user = uow.users.find(user_id)
    if user is None or not ctx.scope.can_see(user.account_id):
        raise NotFound("user", user_id)
    return user


def factor_of(uow: SecurityUnitOfWork, user_id: str) -> SecondFactor | None:
    """The user's second factor, if enabled."""
    return uow.security.factors.find(user_id)


def enable(uow: SecurityUnitOfWork, ctx: Context, user_id: str, secret: str, code: str) -> list[str]:
    """Store the second factor once ``code`` proves the app holds ``secret``; the recovery codes
    (shown once). A user who has one already starts over with the new secret."""
    _own_user(uow, ctx, user_id)
    if not re.fullmatch(r"[A-Z2-7]{16,64}", secret):
        raise InvalidInput("secret", "Not a TOTP secret")
    now = ctx.clock.now()
    step = matching_step(secret, code.strip().replace(" ", ""), now, 0)
    if step is None:
        raise InvalidInput("code", "The code does not match: check the app's clock and type the current code")
    codes = new_recovery_codes()
    factor = SecondFactor(user_id, secret, now, step, [digest(_normal_recovery(c)) for c in codes])
    store = uow.security.factors
    if store.find(user_id) is None:
        store.add(factor)
    else:
        store.update(factor)
    return codes


def check(uow: SecurityUnitOfWork, user_id: str, code: str, at: datetime) -> bool:
    """Whether ``code`` (a current TOTP code, or an unused recovery code) opens this user's login;
    an accepted code is used up (commit the unit of work)."""
    factor = factor_of(uow, user_id)
    if factor is None:
        return False
    typed = code.strip().replace(" ", "")[:40]
    step = matching_step(factor.secret, typed, at, factor.last_step)
    if step is not None:
        uow.security.factors.update(replace(factor, last_step=step))
        return True
    wanted = digest(_normal_recovery(typed))
    for kept in factor.recovery_hashes:
        if hmac.compare_digest(kept, wanted):
            left = [h for h in factor.recovery_hashes if h != kept]
            uow.security.factors.update(replace(factor, recovery_hashes=left))
            return True
    return False


def renew_recovery_codes(uow: SecurityUnitOfWork, ctx: Context, user_id: str) -> list[str]:
    """Ten new recovery codes (shown once) in place of the unused ones, which stop working."""
    _own_user(uow, ctx, user_id)
    factor = factor_of(uow, user_id)
    if factor is None:
        raise InvalidInput("second_factor", "Turn the second factor on first")
    codes = new_recovery_codes()
    uow.security.factors.update(replace(factor, recovery_hashes=[digest(_normal_recovery(c)) for c in codes]))
    return codes


def disable(uow: SecurityUnitOfWork, ctx: Context, user_id: str) -> None:
    """Remove a user's second factor; refused for those who must keep one."""
    user = _own_user(uow, ctx, user_id)
    if required_for(user, uow.parties.get(user.account_id)):
        raise InvalidInput("second_factor", "Operator and partner administrators must keep a second factor")
    if uow.security.factors.find(user_id) is not None:
        uow.security.factors.remove(user_id)


def seed(uow: SecurityUnitOfWork, user_id: str, secret: str, at: datetime) -> bool:
    """The demo: give a user a known secret (no recovery codes) unless it has a factor; True if added."""
    if uow.security.factors.find(user_id) is not None:
        return False
    uow.security.factors.add(SecondFactor(user_id, secret, at, 0, []))
    return True
