"""CNT-4: what registers on the SIP side, as the declaration audit reads it from the SIP bindings."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, func, select

from nuage.storage.sql import tables


class SqlRegistrationStore:
    """The live SIP bindings per username, in the unit of work's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def registered_phones(self, usernames: Collection[str], at: datetime) -> dict[str, int]:
        """How many phones (distinct contacts) each of ``usernames`` is registered from at ``at``."""
        b = tables.sip_bindings
        found: dict[str, int] = {}
        wanted = sorted(set(usernames))
        for start in range(0, len(wanted), 500):
            query = (
                select(b.c.aor, func.count(func.distinct(b.c.contact)))
                .where(b.c.aor.in_(wanted[start : start + 500]), b.c.expires_at > at)
                .group_by(b.c.aor)
            )
            found.update({str(aor): int(count) for aor, count in self._c.execute(query)})
        return found
