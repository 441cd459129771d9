"""Loading the SIP plane's view of the directory: rows read in one transaction, made domain objects.

The rules (dial plan, caller IDs, emergency caller IDs) are ``nuage.directory.dialplan``'s; this
module only reads the rows, builds the domain objects and keeps what the data plane looks up by key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, select

from nuage.directory.dialplan import DialPlan, NumberIndex
from nuage.directory.model import Device, HotDeskSession, PhoneNumber, Trunk, TrunkAddress, TrunkAuth, User
from nuage.sip.ports import CarrierTrunk, SipAccount, TrunkDestination
from nuage.storage.sql import tables
from nuage.storage.sql.mapping import RowMapper

log = logging.getLogger("nuage.storage.sip")

T = TypeVar("T")

_USERS = RowMapper(User, tables.users)
_DEVICES = RowMapper(Device, tables.devices)
_NUMBERS = RowMapper(PhoneNumber, tables.phone_numbers)
_TRUNKS = RowMapper(Trunk, tables.trunks)
_SESSIONS = RowMapper(HotDeskSession, tables.hot_desk_sessions)


@dataclass(frozen=True)
class IpTrunk:
    """SIP-3: a PBX authenticated by its address: an IP, a CIDR block, or an exact ``ip:port``."""

    address: TrunkAddress
    account: SipAccount


@dataclass(frozen=True)
class UserView:
    """What a hot-desk login and a call to a user need of the user (CFG-13, SIP-2)."""

    account_id: str
    name: str
    caller_id: str | None
    pin_hash: str | None  # None for a no-service user (CFG-2): no login


@dataclass(frozen=True)
class DirectorySnapshot:
    """What the data plane needs of the directory, read in one go."""

    plan: DialPlan = field(default_factory=DialPlan)
    accounts: dict[str, SipAccount] = field(default_factory=dict)  # by SIP username (devices, trunks)
    user_devices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    users: dict[str, UserView] = field(default_factory=dict)
    carriers: tuple[CarrierTrunk, ...] = ()
    trunks: dict[str, TrunkDestination] = field(default_factory=dict)  # SIP-3, by trunk id
    ip_trunks: tuple[IpTrunk, ...] = ()
    hot_desk: dict[str, HotDeskSession] = field(default_factory=dict)  # CFG-13, by device id
    read_at: float = 0.0  # time.monotonic() when the read began (what was written before, it shows)


def _ip_entries(text: str | None) -> list[TrunkAddress]:
    """The ``allowed_ips`` of a trunk (checked when written; an entry that is not is skipped)."""
    entries = []
    for part in (text or "").split(","):
        if part.strip():
            try:
                entries.append(TrunkAddress.parse(part))
            except ValueError:
                log.warning("trunk address %r is not an IP address or block; ignored", part.strip())
    return entries


def _all(connection: Connection, mapper: RowMapper[T], statement: Select[Any] | None = None) -> list[T]:
    """Every row ``statement`` reads (all of the mapper's table by default), as domain objects."""
    query = statement if statement is not None else select(mapper.table)
    return [mapper.from_row(row) for row in connection.execute(query).mappings()]


def _device_accounts(
    devices: list[Device], users: dict[str, User], numbers: NumberIndex
) -> tuple[dict[str, SipAccount], dict[str, tuple[str, ...]]]:
    accounts: dict[str, SipAccount] = {}
    user_devices: dict[str, list[str]] = {}
    for device in devices:
        owner = users.get(device.user_id) if device.user_id else None
        caller_id = numbers.device_caller_id(device)
        accounts[device.sip_username or device.id] = SipAccount(
            device_id=device.id,
            account_id=device.account_id,
            user_id=device.user_id,
            username=device.sip_username or device.id,
            password=device.sip_password or "",
            display_name=owner.name if owner is not None else device.label,
            caller_id_e164=caller_id,
            emergency_caller_id=numbers.device_emergency_caller_id(device, owner),
            hot_desk=device.hot_desk,
        )
        if device.user_id:
            user_devices.setdefault(device.user_id, []).append(device.id)
    return accounts, {k: tuple(v) for k, v in user_devices.items()}


def _trunk_routes(
    trunks: list[Trunk], numbers: NumberIndex, accounts: dict[str, SipAccount]
) -> tuple[dict[str, TrunkDestination], list[IpTrunk]]:
    """SIP-3: where each trunk takes calls; a registering trunk joins ``accounts`` by its username."""
    destinations: dict[str, TrunkDestination] = {}
    ip_trunks: list[IpTrunk] = []
    for trunk in trunks:
        account = SipAccount(
            device_id=trunk.id,
            account_id=trunk.account_id,
            user_id=None,
            username=trunk.sip_username or trunk.id,
            password=trunk.sip_password or "",
            display_name=trunk.name,
            caller_id_e164=numbers.trunk_caller_id(trunk),
            emergency_caller_id=numbers.trunk_emergency_caller_id(trunk),
            trunk_id=trunk.id,
        )
        if trunk.auth is TrunkAuth.REGISTRATION:
            if trunk.sip_username and trunk.sip_username not in accounts:
                accounts[trunk.sip_username] = account
            destinations[trunk.id] = TrunkDestination(trunk.id, trunk.account_id)
            continue
        entries = _ip_entries(trunk.allowed_ips)
        ip_trunks.extend(IpTrunk(entry, account) for entry in entries)
        # where the PBX takes calls: its first exact ip:port, else its first single address
        exact = [entry for entry in entries if entry.network.num_addresses == 1]
        target = next((entry for entry in exact if entry.port is not None), exact[0] if exact else None)
        destinations[trunk.id] = TrunkDestination(
            trunk.id,
            trunk.account_id,
            host=str(target.network.network_address) if target else None,
            port=(target.port or 5060) if target else 5060,
        )
    # exact ip:port entries first, then the narrowest blocks
    ip_trunks.sort(key=lambda t: (t.address.port is None, -t.address.network.prefixlen))
    return destinations, ip_trunks


def load_snapshot(connection: Connection, *, region: str = "BE") -> DirectorySnapshot:
    """Read the directory's SIP view in one transaction."""
    numbers = NumberIndex.build(_all(connection, _NUMBERS))
    users: dict[str, User] = {user.id: user for user in _all(connection, _USERS)}
    devices: list[Device] = _all(
        connection, _DEVICES, select(tables.devices).where(tables.devices.c.sip_username.is_not(None))
    )
    trunks: list[Trunk] = _all(
        connection, _TRUNKS, select(tables.trunks).order_by(tables.trunks.c.created_at)
    )
    carriers = tuple(
        CarrierTrunk(row["id"], row["host"], row["port"], row["transport"].upper())
        for row in connection.execute(
            select(tables.carrier_trunks)
            .where(tables.carrier_trunks.c.enabled.is_(True))
            .order_by(tables.carrier_trunks.c.created_at, tables.carrier_trunks.c.id)
        ).mappings()
    )
    listed = list(connection.execute(select(tables.emergency_numbers.c.number)).scalars())
    sessions: list[HotDeskSession] = _all(connection, _SESSIONS)
    accounts, user_devices = _device_accounts(devices, users, numbers)
    destinations, ip_trunks = _trunk_routes(trunks, numbers, accounts)
    return DirectorySnapshot(
        plan=DialPlan.build(users.values(), devices, numbers, listed, region=region),
        accounts=accounts,
        user_devices=user_devices,
        users={
            user.id: UserView(
                user.account_id,
                user.name,
                numbers.user_caller_id(user),
                None if user.no_service else user.hot_desk_pin_hash,
            )
            for user in users.values()
        },
        carriers=carriers,
        trunks=destinations,
        ip_trunks=tuple(ip_trunks),
        hot_desk={session.device_id: session for session in sessions},
    )
