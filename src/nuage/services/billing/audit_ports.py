"""The port of the declaration audit (CNT-4): what registers on the SIP side, read in a unit of work."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from nuage.services.billing.ports import BillingUnitOfWork


class RegistrationStore(Protocol):
    """CNT-4: the live SIP bindings (implemented by ``nuage.storage.sql.registrations``)."""

    def registered_phones(self, usernames: Collection[str], at: datetime) -> dict[str, int]:
        """How many phones (distinct contacts) each of ``usernames`` is registered from at ``at``."""
        ...


class AuditUnitOfWork(BillingUnitOfWork, Protocol):
    """A billing unit of work that also reads the SIP registrations."""

    @property
    def registrations(self) -> RegistrationStore: ...
