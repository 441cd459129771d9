"""SIP-5: the bans' store in the database (``sip_bans``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuage.bootstrap import Platform
from nuage.sip.ports import BanRecord
from nuage.storage.sql.sip_bans import SqlBanStore

pytestmark = pytest.mark.rule("SIP-5")


async def test_bans_are_stored_replaced_listed_while_in_force_and_lifted(platform: Platform) -> None:
    store = SqlBanStore(platform.engine)
    now = platform.clock.now()
    minute = timedelta(minutes=1)
    await store.add(
        [
            BanRecord("198.51.100.7", now, now + 10 * minute, "10 failed authentications in 60s"),
            BanRecord("2001:db8::7", now, now + 20 * minute, "operator"),
            BanRecord("198.51.100.9", now - 20 * minute, now - minute, "over"),
        ]
    )
    assert [b.address for b in await store.active(now)] == ["2001:db8::7", "198.51.100.7"]
    later = now + 5 * minute
    await store.add([BanRecord("198.51.100.7", later, later + 30 * minute, "x" * 300)])  # banned again
    (first, second) = await store.active(later)
    assert (first.address, first.until, len(first.reason)) == ("198.51.100.7", later + 30 * minute, 256)
    assert second.address == "2001:db8::7"
    assert await store.lift("198.51.100.7", later)
    assert not await store.lift("198.51.100.7", later)
    assert not await store.lift("198.51.100.9", later)  # expired long ago: nothing was in force
    assert [b.address for b in await store.active(later)] == ["2001:db8::7"]
    assert await store.active(now + 21 * minute) == []
