"""SIP-5: the guard's bans written behind to a store and read back from it (``nuage.sip.bans``).

Two guards on one store stand for two SIP nodes; the store is the in-memory one, or a Redis that
does not answer (nothing listens on its port) for the store's failures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from netports import free_port
from nuage.adapters.redis_bans import RedisBanStore
from nuage.shared.clock import FrozenClock
from nuage.sip.bans import BanKeeper, MemoryBanStore
from nuage.sip.ports import BanRecord
from nuage.sip.security import SecurityGuard, SecuritySettings

pytestmark = pytest.mark.rule("SIP-5")

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ATTACKER = "198.51.100.7"


def node(store: MemoryBanStore | RedisBanStore, clock: FrozenClock) -> BanKeeper:
    guard = SecurityGuard(SecuritySettings(max_auth_failures=2, ban_s=600), clock=clock)
    return BanKeeper(guard, store, sync_s=60, clock=clock)


async def test_a_ban_is_written_behind_and_reaches_the_other_node_at_its_next_sync() -> None:
    clock, store = FrozenClock(T0), MemoryBanStore()
    one, two = node(store, clock), node(store, clock)
    one.guard.record_auth_failure(ATTACKER)
    one.guard.record_auth_failure(ATTACKER)  # the receive path bans; nothing is awaited there
    assert store.bans == {}  # not yet: the keeper's task writes it
    await one.sync()
    assert store.bans[ATTACKER].until == T0 + timedelta(seconds=600)
    assert not two.guard.is_banned(ATTACKER)
    await two.sync()
    assert two.guard.is_banned(ATTACKER)
    assert "2 failed authentications" in two.guard.bans()[0].reason


async def test_a_lift_on_one_node_or_in_the_store_reaches_every_node() -> None:
    clock, store = FrozenClock(T0), MemoryBanStore()
    one, two = node(store, clock), node(store, clock)
    one.guard.ban(ATTACKER)
    one.guard.ban("198.51.100.8")
    await one.sync()
    await two.sync()
    assert two.guard.unban(ATTACKER)  # lifted on node two ...
    await two.sync()
    await one.sync()
    assert not one.guard.is_banned(ATTACKER)  # ... node one follows
    assert await store.lift("198.51.100.8", clock.now())  # lifted in the store (the CLI) ...
    await one.sync()
    await two.sync()
    assert one.guard.bans() == two.guard.bans() == []  # ... both follow


async def test_a_restarted_node_starts_with_the_stored_bans_and_expired_ones_are_dropped() -> None:
    clock, store = FrozenClock(T0), MemoryBanStore()
    await store.add(
        [
            BanRecord(ATTACKER, T0, T0 + timedelta(minutes=10), "stored"),
            BanRecord("198.51.100.9", T0 - timedelta(hours=1), T0 - timedelta(minutes=1), "over"),
        ]
    )
    keeper = node(store, clock)
    await keeper.start()
    try:
        assert [b.address for b in keeper.guard.bans()] == [ATTACKER]
        assert keeper.guard.is_banned(ATTACKER)
        clock.advance(timedelta(minutes=10))
        assert not keeper.guard.is_banned(ATTACKER)  # a ban ends on time, stored or not
    finally:
        await keeper.stop()


async def test_while_the_store_fails_the_node_keeps_its_bans_and_writes_them_once_it_answers() -> None:
    clock = FrozenClock(T0)
    unreachable = RedisBanStore(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)
    keeper = node(unreachable, clock)
    try:
        await keeper.start()  # the stored bans cannot be read: the node starts without them
        keeper.guard.ban(ATTACKER)
        await keeper.sync()
        assert keeper.guard.is_banned(ATTACKER)  # held here all along
        assert not await keeper.flush()  # still pending
    finally:
        await keeper.stop()
        await unreachable.close()
    keeper.store = store = MemoryBanStore()  # the store answers again
    await keeper.sync()
    assert list(store.bans) == [ATTACKER]
    assert keeper.guard.is_banned(ATTACKER)
