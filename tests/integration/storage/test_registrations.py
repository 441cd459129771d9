"""CNT-4: the declaration audit reads the live SIP bindings: phones per username, expired ones aside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from nuage.bootstrap import Platform
from nuage.storage.sql import tables

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.mark.rule("CNT-4")
def test_phones_registered_per_username_count_live_contacts_only(platform: Platform) -> None:
    rows = [
        ("bob", "sip:bob@192.0.2.10:5060", NOW + timedelta(minutes=5)),
        ("bob", "sip:bob@192.0.2.11:5060", NOW + timedelta(minutes=5)),
        ("bob", "sip:bob@192.0.2.12:5060", NOW - timedelta(minutes=5)),  # expired
        ("jan", "sip:jan@192.0.2.20:5060", NOW + timedelta(minutes=5)),
        ("eve", "sip:eve@192.0.2.30:5060", NOW + timedelta(minutes=5)),  # not asked for
    ]
    with platform.engine.begin() as connection:
        for aor, contact, expires_at in rows:
            connection.execute(
                insert(tables.sip_bindings).values(
                    aor=aor,
                    contact=contact,
                    expires_at=expires_at,
                    transport="udp",
                    call_id=f"reg-{contact}",
                    cseq=1,
                    updated_at=NOW,
                )
            )
    with platform.uow() as uow:
        assert uow.registrations.registered_phones(["bob", "jan", "marc"], NOW) == {"bob": 2, "jan": 1}
