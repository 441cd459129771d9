"""The SIP directory and the call policy apply a change to the accounts it touched (migration
0016's journal names them) and get exactly the snapshot a full read gives, on SQLite and
PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from nuage.bootstrap import Platform
from nuage.directory.model import Device, DeviceKind, Trunk, TrunkAuth, User
from nuage.policy.snapshot import PolicySnapshot
from nuage.services.demo import load_demo
from nuage.storage.sql.policy_adapters import SqlPolicySnapshot
from nuage.storage.sql.policy_store import SqlPolicyStore
from nuage.storage.sql.sip_adapters import SqlSipDirectory
from nuage.storage.sql.sip_snapshot import DirectorySnapshot, load_snapshot
from nuage.tenancy.model import PartyKind, PartyStatus


def _full(platform: Platform) -> DirectorySnapshot:
    with platform.engine.connect() as connection:
        return load_snapshot(connection)


async def _applied(platform: Platform, directory: SqlSipDirectory) -> DirectorySnapshot:
    """The directory brought up to date by its journal, checked against a full read."""
    loads = directory.full_loads
    await directory.reload()
    assert directory.full_loads == loads  # applied, not read whole
    snapshot = replace(directory._view.value, read_at=0.0)
    assert snapshot == _full(platform)
    return snapshot


async def test_changes_applied_account_by_account_give_the_full_snapshot(platform: Platform) -> None:
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    directory = SqlSipDirectory(platform.engine, clock=platform.clock)
    await directory.reload()
    assert directory.full_loads == 1
    now = platform.clock.now()
    with platform.uow() as uow:
        dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        other = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Bakkerij Peeters")
        assert dupont is not None
        assert other is not None
        alice = uow.users.find_by(account_id=dupont.id, email="alice@dupont.example")
        assert alice is not None
        (number, *_) = uow.numbers.list(account_id=dupont.id)

    with platform.uow() as uow:  # a user with an extension and a phone, in one account
        uow.users.add(User(id="usr_new", account_id=dupont.id, name="Dana", created_at=now, extension="299"))
        uow.devices.add(
            Device(
                id="dev_new",
                account_id=dupont.id,
                kind=DeviceKind.SOFTPHONE_PC,
                label="Dana's laptop",
                created_at=now,
                user_id="usr_new",
                sip_username="dana-laptop",
                sip_password="Dana-Laptop-2026!",
            )
        )
        uow.commit()
    snapshot = await _applied(platform, directory)
    assert snapshot.accounts["dana-laptop"].display_name == "Dana"
    assert snapshot.plan.extensions[(dupont.id, "299")] == "usr_new"

    with platform.uow() as uow:  # the number moves to the new user: caller IDs follow
        uow.numbers.update(replace(number, user_id="usr_new", device_id=None, trunk_id=None))
        uow.users.update(replace(alice, name="Alice B."))
        uow.commit()
    snapshot = await _applied(platform, directory)
    assert snapshot.accounts["dana-laptop"].caller_id_e164 == number.e164

    with platform.uow() as uow:  # an IP trunk in another account, then the number moves there
        uow.trunks.add(
            Trunk(
                id="trk_new",
                account_id=other.id,
                name="PBX",
                auth=TrunkAuth.IP,
                created_at=now,
                allowed_ips="192.0.2.10:5070, 198.51.100.0/24",
            )
        )
        uow.commit()
    await _applied(platform, directory)
    with platform.uow() as uow:
        moved = replace(number, account_id=other.id, user_id=None, device_id=None, trunk_id="trk_new")
        uow.numbers.update(moved)
        uow.commit()
    snapshot = await _applied(platform, directory)
    assert snapshot.plan.numbers.routes[number.e164].trunk_id == "trk_new"
    assert (await directory.find_trunk("192.0.2.10", 5070)) is not None

    with platform.uow() as uow:  # the phone and its user go
        uow.devices.remove("dev_new")
        uow.users.remove("usr_new")
        uow.commit()
    snapshot = await _applied(platform, directory)
    assert "dana-laptop" not in snapshot.accounts
    assert (dupont.id, "299") not in snapshot.plan.extensions


def _policy_now(platform: Platform) -> PolicySnapshot:
    fresh = SqlPolicySnapshot(platform.engine, clock=platform.clock)
    fresh._view._value = fresh._load()
    return fresh.snapshot


def _same_terms(left: PolicySnapshot, right: PolicySnapshot) -> None:
    assert left.on == right.on
    assert left.accounts == right.accounts
    assert left.trunks == right.trunks
    assert left.spend_caps == right.spend_caps
    assert left.autodialer_blocks == right.autodialer_blocks


@pytest.mark.rule("CAP-1")
async def test_the_call_policy_applies_changes_account_by_account_as_a_full_read_gives(
    platform: Platform,
) -> None:
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    policy = SqlPolicySnapshot(platform.engine, clock=platform.clock)
    await policy.reload()
    assert policy.full_loads == 1
    now = platform.clock.now()
    with platform.uow() as uow:
        dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert dupont is not None
        before = policy.snapshot.accounts[dupont.id].channels
        for n in range(4):  # CAP-1: more users, another band
            uow.users.add(User(id=f"usr_cap{n}", account_id=dupont.id, name=f"U{n}", created_at=now))
        uow.parties.update(replace(dupont, status=PartyStatus.SUSPENDED))  # PAY-1
        SqlPolicyStore(uow.connection).set_spend_cap(dupont.id, Decimal("12.50"), now)  # SIP-5
        uow.commit()
    await policy.reload()
    assert policy.full_loads == 1
    assert policy.applied == 1
    terms = policy.snapshot.accounts[dupont.id]
    assert terms.channels != before  # CAP-1 counted the users again (a larger band: fewer per user)
    assert terms.status is PartyStatus.SUSPENDED
    assert policy.snapshot.spend_caps[dupont.id] == Decimal("12.50")
    _same_terms(policy.snapshot, _policy_now(platform))
    with platform.uow() as uow:  # and back
        for n in range(4):
            uow.users.remove(f"usr_cap{n}")
        SqlPolicyStore(uow.connection).set_spend_cap(dupont.id, None, now)
        uow.commit()
    await policy.reload()
    assert policy.full_loads == 1
    assert policy.snapshot.accounts[dupont.id].channels == before
    _same_terms(policy.snapshot, _policy_now(platform))
