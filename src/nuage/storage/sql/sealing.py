"""Secrets sealed at rest: a user's TOTP secret is kept encrypted (Fernet: AES-128-CBC with an
HMAC-SHA256) under a key derived from the platform's ``secret_key`` (HKDF-SHA256, its own label),
so a copy of the database alone does not give away anyone's second factor.

The key belongs to an engine (:func:`seal_with`, called when the platform is built): a unit of
work's stores find it through their connection. A sealed value reads ``v1:<token>``; a value
without that mark is one kept before sealing (migration ``0032_portal`` seals those it finds
when it is given the key, and the store seals it again when it next writes it).
"""

from __future__ import annotations

import base64
import weakref

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine

MARK = "v1:"
_LABEL = b"nuage: second-factor secrets at rest"
_SEALERS: weakref.WeakKeyDictionary[Engine, Sealer] = weakref.WeakKeyDictionary()


class SealingUnavailable(RuntimeError):
    """No key was given for this engine: a secret is neither sealed nor opened without one."""


class Sealer:
    """Seals and opens short secrets with a key derived from ``secret_key``."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, value: str) -> str:
        """The value encrypted (a new random IV each time), marked."""
        return MARK + self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        """The value back; one kept before sealing as it is. Another key's seal: SealingUnavailable."""
        if not stored.startswith(MARK):
            return stored
        try:
            return self._fernet.decrypt(stored[len(MARK) :].encode("ascii")).decode()
        except InvalidToken:
            raise SealingUnavailable(
                "a sealed secret does not open with this platform's secret_key"
            ) from None


def sealed(stored: str) -> bool:
    """Whether a stored value is sealed."""
    return stored.startswith(MARK)


def seal_with(engine: Engine, secret_key: str) -> None:
    """Give ``engine``'s stores the key of the platform's secrets."""
    _SEALERS[engine] = Sealer(secret_key)


def sealer_of(engine: Engine) -> Sealer:
    """The key given for ``engine``, else SealingUnavailable."""
    found = _SEALERS.get(engine)
    if found is None:
        raise SealingUnavailable("no secret_key was given for this database's secrets")
    return found
