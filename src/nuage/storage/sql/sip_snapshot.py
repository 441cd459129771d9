"""Loading the SIP plane's view of the directory: rows read in one transaction, made domain objects,
and kept current one account at a time.

The rules (dial plan, caller IDs, emergency caller IDs) are ``nuage.directory.dialplan``'s; this
module only reads the rows, builds the domain objects and keeps what the data plane looks up by key.
Everything the data plane looks up belongs to one account (its users, phones, trunks and numbers)
or to a small platform-wide table (carriers, emergency numbers, hot-desk sessions). A
:class:`DirectoryState` remembers which keys each account contributed, so a change to some
accounts is applied by reading those accounts' rows alone and replacing their entries: the cost of
a change follows the accounts it touched, not the size of the directory. A full load builds every
account the same way, so both give the same snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, select

from nuage.directory.dialplan import DialPlan, NumberIndex
from nuage.directory.model import Device, HotDeskSession, PhoneNumber, Trunk, TrunkAddress, TrunkAuth, User
from nuage.directory.routing import CallForwarding, RingGroup
from nuage.shared.collector import release_gradually
from nuage.sip.ports import CarrierTrunk, SipAccount, TrunkDestination
from nuage.sip.routing import ForwardingRule, HuntGroup
from nuage.storage.sql import routing_tables, tables
from nuage.storage.sql.mapping import RowMapper
from nuage.storage.sql.snapshots import built_aside
from nuage.terms.emergency import NumberLookup, emergency_numbers

log = logging.getLogger("nuage.storage.sip")

T = TypeVar("T")

_USERS = RowMapper(User, tables.users)
_DEVICES = RowMapper(Device, tables.devices)
_NUMBERS = RowMapper(PhoneNumber, tables.phone_numbers)
_TRUNKS = RowMapper(Trunk, tables.trunks)
_SESSIONS = RowMapper(HotDeskSession, tables.hot_desk_sessions)
_FORWARDING = RowMapper(CallForwarding, routing_tables.call_forwarding)
_GROUPS = RowMapper(
    RingGroup, routing_tables.ring_groups, {"members": (" ".join, lambda text: tuple(text.split()))}
)


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
    hot_desk_by_user: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the same: user -> devices
    forwarding: dict[str, ForwardingRule] = field(default_factory=dict)  # issue #15, by user id
    groups: dict[str, HuntGroup] = field(default_factory=dict)  # ring groups by id
    group_extensions: dict[tuple[str, str], str] = field(default_factory=dict)  # (account, ext) -> group
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


#: the order of the IP-authenticated trunks: exact ip:port entries first, then the narrowest blocks
#: (then the oldest trunk)
IpKey = tuple[bool, int, Any, str]


def _trunk_routes(
    trunks: list[Trunk], numbers: NumberIndex
) -> tuple[dict[str, TrunkDestination], list[tuple[IpKey, IpTrunk]], dict[str, SipAccount]]:
    """SIP-3: where each trunk takes calls, its IP entries, and the registering trunks' accounts."""
    destinations: dict[str, TrunkDestination] = {}
    ip_trunks: list[tuple[IpKey, IpTrunk]] = []
    registering: dict[str, SipAccount] = {}
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
            if trunk.sip_username:
                registering.setdefault(trunk.sip_username, account)
            destinations[trunk.id] = TrunkDestination(trunk.id, trunk.account_id)
            continue
        entries = _ip_entries(trunk.allowed_ips)
        ip_trunks.extend(
            (
                (entry.port is None, -entry.network.prefixlen, trunk.created_at, trunk.id),
                IpTrunk(entry, account),
            )
            for entry in entries
        )
        # where the PBX takes calls: its first exact ip:port, else its first single address
        exact = [entry for entry in entries if entry.network.num_addresses == 1]
        target = next((entry for entry in exact if entry.port is not None), exact[0] if exact else None)
        destinations[trunk.id] = TrunkDestination(
            trunk.id,
            trunk.account_id,
            host=str(target.network.network_address) if target else None,
            port=(target.port or 5060) if target else 5060,
        )
    return destinations, ip_trunks, registering


@dataclass
class AccountRows:
    """One account's rows the SIP view is built from."""

    users: list[User] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)  # those with a SIP username
    trunks: list[Trunk] = field(default_factory=list)  # oldest first
    numbers: list[PhoneNumber] = field(default_factory=list)  # oldest first
    forwarding: list[CallForwarding] = field(default_factory=list)
    ring_groups: list[RingGroup] = field(default_factory=list)


#: the lookups an account contributes to, merged over every account (see ``_contributions``)
FIELDS = (
    "devices",  # SIP username -> device account
    "registering",  # SIP username -> registering trunk (a device of that username wins)
    "user_devices",
    "users",
    "extensions",
    "device_usernames",
    "routes",
    "by_id",
    "of_user",
    "of_device",
    "of_trunk",
    "main",
    "trunks",
    "forwarding",
    "groups",
    "group_extensions",
)


def _contributions(rows: AccountRows) -> tuple[dict[str, dict[Any, Any]], list[tuple[IpKey, IpTrunk]]]:
    """What one account puts in each lookup of ``FIELDS``, and its IP-authenticated trunks."""
    numbers = NumberIndex.build(rows.numbers)
    users = {user.id: user for user in rows.users}
    devices, user_devices = _device_accounts(rows.devices, users, numbers)
    trunks, ip_trunks, registering = _trunk_routes(rows.trunks, numbers)
    plan = DialPlan.build(rows.users, rows.devices, numbers, (), region="BE")  # its keyed parts only
    views = {
        user.id: UserView(
            user.account_id,
            user.name,
            numbers.user_caller_id(user),
            None if user.no_service else user.hot_desk_pin_hash,
        )
        for user in rows.users
    }
    lookup = numbers.lookup
    parts: dict[str, dict[Any, Any]] = {
        "devices": devices,
        "registering": registering,
        "user_devices": user_devices,
        "users": views,
        "extensions": dict(plan.extensions),
        "device_usernames": dict(plan.device_usernames),
        "routes": numbers.routes,
        "by_id": dict(lookup.by_id),
        "of_user": dict(lookup.of_user),
        "of_device": dict(lookup.of_device),
        "of_trunk": dict(lookup.of_trunk),
        "main": numbers.main,
        "trunks": trunks,
        "forwarding": {f.user_id: _rule(f) for f in rows.forwarding},
        "groups": {g.id: _group(g, numbers.main.get(g.account_id)) for g in rows.ring_groups},
        "group_extensions": {(g.account_id, g.extension): g.id for g in rows.ring_groups if g.extension},
    }
    return parts, ip_trunks


def _rule(forwarding: CallForwarding) -> ForwardingRule:
    return ForwardingRule(
        unconditional=forwarding.unconditional,
        busy=forwarding.busy,
        no_answer=forwarding.no_answer,
        no_answer_s=float(forwarding.no_answer_s),
        unregistered=forwarding.unregistered,
        dnd=forwarding.dnd,
    )


def _group(group: RingGroup, main_number: str | None) -> HuntGroup:
    return HuntGroup(
        group.id,
        group.account_id,
        group.strategy.value,
        group.members,
        float(group.member_timeout_s),
        float(group.timeout_s),
        group.fallback,
        main_number,  # SIP-2: presented when the fallback is a number outside the platform
    )


def _chunks(keys: Collection[str], size: int = 500) -> Iterator[list[str]]:
    ordered = sorted(keys)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def read_accounts(connection: Connection, accounts: Collection[str] | None) -> dict[str, AccountRows]:
    """The rows of ``accounts`` (None: of every account), by account; an account without rows is
    there, empty (what it contributed is gone)."""
    found: dict[str, AccountRows] = {key: AccountRows() for key in accounts or ()}
    devices_with_username = tables.devices.c.sip_username.is_not(None)
    queries: list[tuple[str, RowMapper[Any], Select[Any]]] = [
        ("users", _USERS, select(tables.users)),
        ("devices", _DEVICES, select(tables.devices).where(devices_with_username)),
        ("trunks", _TRUNKS, select(tables.trunks).order_by(tables.trunks.c.created_at, tables.trunks.c.id)),
        (
            "numbers",
            _NUMBERS,
            select(tables.phone_numbers).order_by(
                tables.phone_numbers.c.created_at, tables.phone_numbers.c.id
            ),
        ),
        ("forwarding", _FORWARDING, select(routing_tables.call_forwarding)),
        ("ring_groups", _GROUPS, select(routing_tables.ring_groups)),
    ]
    for name, mapper, query in queries:
        batches = (
            [query]
            if accounts is None
            else [query.where(mapper.table.c.account_id.in_(chunk)) for chunk in _chunks(accounts)]
        )
        for batch in batches:
            for item in _all(connection, mapper, batch):
                getattr(found.setdefault(item.account_id, AccountRows()), name).append(item)
    return found


@dataclass(frozen=True)
class Platformwide:
    """The small platform-wide tables the SIP view holds whole."""

    carriers: tuple[CarrierTrunk, ...] = ()
    emergency: tuple[str, ...] = ()  # the operator's emergency numbers (EMG-4 adds the built-in)
    hot_desk: dict[str, HotDeskSession] = field(default_factory=dict)
    hot_desk_by_user: dict[str, tuple[str, ...]] = field(default_factory=dict)  # user id -> device ids


#: the watched tables the SIP view reads whole, and those it reads one account at a time
PLATFORM_TABLES = ("carrier_trunks", "emergency_numbers", "hot_desk_sessions")
ACCOUNT_TABLES = ("users", "devices", "phone_numbers", "trunks", "call_forwarding", "ring_groups")


def read_platformwide(connection: Connection, tables_: Iterable[str], old: Platformwide) -> Platformwide:
    """``old`` with the tables named read again."""
    wanted = set(tables_)
    carriers, listed, sessions, by_user = old.carriers, old.emergency, old.hot_desk, old.hot_desk_by_user
    if "carrier_trunks" in wanted:
        carriers = tuple(
            CarrierTrunk(row["id"], row["host"], row["port"], row["transport"].upper())
            for row in connection.execute(
                select(tables.carrier_trunks)
                .where(tables.carrier_trunks.c.enabled.is_(True))
                .order_by(tables.carrier_trunks.c.created_at, tables.carrier_trunks.c.id)
            ).mappings()
        )
    if "emergency_numbers" in wanted:
        listed = tuple(connection.execute(select(tables.emergency_numbers.c.number)).scalars())
    if "hot_desk_sessions" in wanted:
        sessions = {session.device_id: session for session in _all(connection, _SESSIONS)}
        devices_of: dict[str, list[str]] = {}
        for session in sessions.values():
            devices_of.setdefault(session.user_id, []).append(session.device_id)
        by_user = {user_id: tuple(devices) for user_id, devices in devices_of.items()}
    return Platformwide(carriers, listed, sessions, by_user)


class DirectoryState:
    """The merged lookups of every account and which keys each account put there; ``apply``
    replaces some accounts' entries (on copies: a snapshot handed out never changes)."""

    def __init__(self, region: str = "BE") -> None:
        self.region = region
        self.merged: dict[str, dict[Any, Any]] = {name: {} for name in FIELDS}
        self.owned: dict[str, tuple[tuple[Any, ...], ...]] = {}  # account -> its keys, per field
        self.ip_trunks: dict[str, list[tuple[IpKey, IpTrunk]]] = {}  # accounts that have some
        self.platform = Platformwide()

    def apply(self, changed: dict[str, AccountRows]) -> None:
        """Replace what the accounts of ``changed`` contributed with what their rows give now."""
        merged = {name: dict(entries) for name, entries in self.merged.items()}
        for account in changed:
            for name, keys in zip(FIELDS, self.owned.pop(account, ()), strict=False):
                lookup = merged[name]
                for key in keys:
                    lookup.pop(key, None)
            self.ip_trunks.pop(account, None)
        for account, rows in changed.items():
            parts, ip_trunks = _contributions(rows)
            for name in FIELDS:
                merged[name].update(parts[name])
            if any(parts.values()):
                self.owned[account] = tuple(tuple(parts[name]) for name in FIELDS)
            if ip_trunks:
                self.ip_trunks[account] = ip_trunks
        self.merged = merged

    def snapshot(self, read_at: float) -> DirectorySnapshot:
        """The snapshot of the state now."""
        m = self.merged
        numbers = NumberIndex(
            m["routes"], NumberLookup(m["by_id"], m["of_user"], m["of_device"], m["of_trunk"]), m["main"]
        )
        plan = DialPlan(
            region=self.region,
            emergency=emergency_numbers(self.platform.emergency),
            extensions=m["extensions"],
            device_usernames=m["device_usernames"],
            numbers=numbers,
        )
        ordered = sorted(chain.from_iterable(self.ip_trunks.values()), key=lambda item: item[0])
        return DirectorySnapshot(
            plan=plan,
            accounts={**m["registering"], **m["devices"]},
            user_devices=m["user_devices"],
            users=m["users"],
            carriers=self.platform.carriers,
            trunks=m["trunks"],
            ip_trunks=tuple(trunk for _, trunk in ordered),
            hot_desk=self.platform.hot_desk,
            hot_desk_by_user=self.platform.hot_desk_by_user,
            forwarding=m["forwarding"],
            groups=m["groups"],
            group_extensions=m["group_extensions"],
            read_at=read_at,
        )


def load_state(connection: Connection, *, region: str = "BE") -> DirectoryState:
    """Read the directory's SIP view whole, in one transaction (``built_aside``: no collection
    walks the objects it makes)."""
    with built_aside():
        state = DirectoryState(region)
        state.platform = read_platformwide(connection, PLATFORM_TABLES, state.platform)
        rows = read_accounts(connection, None)
        state.apply(rows)
        # the rows read (every user, device, number... as domain objects) are not kept: freed
        # piece by piece, not in one cascade holding the GIL (``nuage.shared.collector``)
        read: list[object] = [rows]
        del rows
        release_gradually(read)
        return state


def load_snapshot(connection: Connection, *, region: str = "BE") -> DirectorySnapshot:
    """Read the directory's SIP view in one transaction."""
    return load_state(connection, region=region).snapshot(0.0)
