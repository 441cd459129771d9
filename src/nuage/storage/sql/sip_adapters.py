"""The SIP data plane's ports over SQL storage.

Call set-up never waits on the database: ``SqlSipDirectory`` keeps a snapshot of the directory
(credentials, extensions, numbers, carriers) in memory, reloaded in a worker thread every few
seconds and at once (rate-limited) when an unknown username shows up. Registrations are written
behind (batched), CDRs in batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from ipaddress import ip_address

import phonenumbers
from sqlalchemy import Connection, Engine, and_, delete, insert, select

from nuage.directory.model import HotDeskSession, TrunkAddress
from nuage.errors import NuageError
from nuage.services import hot_desk
from nuage.services.access import verify_secret
from nuage.services.context import Context
from nuage.shared.clock import Clock, SystemClock
from nuage.shared.ids import new_ordered_id
from nuage.sip.ports import (
    Binding,
    CarrierTrunk,
    CdrRecord,
    Destination,
    DeviceDestination,
    ExternalDestination,
    SipAccount,
    TrunkDestination,
    UserDestination,
)
from nuage.storage.sql import tables
from nuage.storage.sql.snapshots import ChangeWatch, RefreshedSnapshot
from nuage.storage.sql.unit_of_work import SqlUnitOfWork
from nuage.tenancy.rules import TenantScope
from nuage.terms.emergency import EMERGENCY_NUMBERS, emergency_numbers

log = logging.getLogger("nuage.storage.sip")


@dataclass(frozen=True)
class _NumberRoute:
    account_id: str
    user_id: str | None
    device_id: str | None
    trunk_id: str | None


@dataclass(frozen=True)
class _IpTrunk:
    """SIP-3: a PBX authenticated by its address: an IP, a CIDR block, or an exact ``ip:port``."""

    address: TrunkAddress
    account: SipAccount


@dataclass(frozen=True)
class _UserView:
    account_id: str
    name: str
    caller_id: str | None
    pin_hash: str | None


@dataclass(frozen=True)
class DirectorySnapshot:
    """What the data plane needs of the directory, read in one go."""

    accounts: dict[str, SipAccount] = field(default_factory=dict)  # by SIP username (devices, trunks)
    user_devices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    users: dict[str, _UserView] = field(default_factory=dict)
    extensions: dict[tuple[str, str], str] = field(default_factory=dict)  # (account, extension) -> user
    device_usernames: dict[tuple[str, str], str] = field(
        default_factory=dict
    )  # (account, username) -> device
    numbers: dict[str, _NumberRoute] = field(default_factory=dict)
    carriers: tuple[CarrierTrunk, ...] = ()
    trunks: dict[str, TrunkDestination] = field(default_factory=dict)  # SIP-3, by trunk id
    ip_trunks: tuple[_IpTrunk, ...] = ()
    emergency_numbers: frozenset[str] = EMERGENCY_NUMBERS  # EMG-4: built in, plus the operator's
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


def load_snapshot(connection: Connection) -> DirectorySnapshot:
    """Read the directory's SIP view in one transaction."""
    numbers: dict[str, _NumberRoute] = {}
    e164_of: dict[str, str] = {}  # number id -> E.164 (EMG-2 emergency caller IDs)
    user_number: dict[str, str] = {}
    device_number: dict[str, str] = {}
    trunk_number: dict[str, str] = {}
    main_number: dict[str, str] = {}
    for row in connection.execute(select(tables.phone_numbers)).mappings():
        numbers[row["e164"]] = _NumberRoute(
            row["account_id"], row["user_id"], row["device_id"], row["trunk_id"]
        )
        e164_of[row["id"]] = row["e164"]
        if row["user_id"]:
            user_number.setdefault(row["user_id"], row["e164"])
        if row["device_id"]:
            device_number.setdefault(row["device_id"], row["e164"])
        if row["trunk_id"]:
            trunk_number.setdefault(row["trunk_id"], row["e164"])
        if row["main"]:
            main_number[row["account_id"]] = row["e164"]
    users: dict[str, _UserView] = {}
    user_emergency: dict[str, str] = {}
    extensions: dict[tuple[str, str], str] = {}
    for row in connection.execute(select(tables.users)).mappings():
        account_id = row["account_id"]
        users[row["id"]] = _UserView(
            account_id,
            row["name"],
            user_number.get(row["id"]) or main_number.get(account_id),
            None if row["no_service"] else row["hot_desk_pin_hash"],
        )
        if row["emergency_number_id"] in e164_of:
            user_emergency[row["id"]] = e164_of[row["emergency_number_id"]]
        if row["extension"] and not row["no_service"]:
            extensions[(account_id, row["extension"])] = row["id"]
    accounts: dict[str, SipAccount] = {}
    user_devices: dict[str, list[str]] = {}
    device_usernames: dict[tuple[str, str], str] = {}
    for row in connection.execute(
        select(tables.devices).where(tables.devices.c.sip_username.is_not(None))
    ).mappings():
        user_id = row["user_id"]
        caller_id = (
            device_number.get(row["id"])
            or (user_number.get(user_id) if user_id else None)
            or main_number.get(row["account_id"])
        )
        # EMG-2: the phone's own emergency number (where it stands); a personal phone may use its
        # user's; a shared phone never does, whoever is logged in (EMG-3: location follows the phone)
        emergency = e164_of.get(row["emergency_number_id"] or "")
        if emergency is None and user_id and not row["hot_desk"]:
            emergency = user_emergency.get(user_id)
        accounts[row["sip_username"]] = SipAccount(
            device_id=row["id"],
            account_id=row["account_id"],
            user_id=user_id,
            username=row["sip_username"],
            password=row["sip_password"] or "",
            display_name=users[user_id].name if user_id in users else row["label"],
            caller_id_e164=caller_id,
            emergency_caller_id=emergency or caller_id,
            hot_desk=bool(row["hot_desk"]),
        )
        device_usernames[(row["account_id"], row["sip_username"])] = row["id"]
        if user_id:
            user_devices.setdefault(user_id, []).append(row["id"])
    trunks: dict[str, TrunkDestination] = {}
    ip_trunks: list[_IpTrunk] = []
    for row in connection.execute(select(tables.trunks).order_by(tables.trunks.c.created_at)).mappings():
        caller_id = trunk_number.get(row["id"]) or main_number.get(row["account_id"])
        account = SipAccount(
            device_id=row["id"],
            account_id=row["account_id"],
            user_id=None,
            username=row["sip_username"] or row["id"],
            password=row["sip_password"] or "",
            display_name=row["name"],
            caller_id_e164=caller_id,
            emergency_caller_id=e164_of.get(row["emergency_number_id"] or "") or caller_id,
            trunk_id=row["id"],
        )
        if row["auth"] == "registration":
            if row["sip_username"] and row["sip_username"] not in accounts:
                accounts[row["sip_username"]] = account
            trunks[row["id"]] = TrunkDestination(row["id"], row["account_id"])
            continue
        entries = _ip_entries(row["allowed_ips"])
        ip_trunks.extend(_IpTrunk(entry, account) for entry in entries)
        # where the PBX takes calls: its first exact ip:port, else its first single address
        exact = [entry for entry in entries if entry.network.num_addresses == 1]
        target = next((entry for entry in exact if entry.port is not None), exact[0] if exact else None)
        trunks[row["id"]] = TrunkDestination(
            row["id"],
            row["account_id"],
            host=str(target.network.network_address) if target else None,
            port=(target.port or 5060) if target else 5060,
        )
    carriers = tuple(
        CarrierTrunk(row["id"], row["host"], row["port"], row["transport"].upper())
        for row in connection.execute(
            select(tables.carrier_trunks)
            .where(tables.carrier_trunks.c.enabled.is_(True))
            .order_by(tables.carrier_trunks.c.created_at, tables.carrier_trunks.c.id)
        ).mappings()
    )
    listed = connection.execute(select(tables.emergency_numbers.c.number)).scalars()
    sessions = {
        row["device_id"]: HotDeskSession(
            row["device_id"], row["user_id"], row["started_at"], row["expires_at"]
        )
        for row in connection.execute(select(tables.hot_desk_sessions)).mappings()
    }
    return DirectorySnapshot(
        accounts=accounts,
        user_devices={k: tuple(v) for k, v in user_devices.items()},
        users=users,
        extensions=extensions,
        device_usernames=device_usernames,
        numbers=numbers,
        carriers=carriers,
        trunks=trunks,
        # exact ip:port entries first, then the narrowest blocks
        ip_trunks=tuple(
            sorted(ip_trunks, key=lambda t: (t.address.port is None, -t.address.network.prefixlen))
        ),
        emergency_numbers=emergency_numbers(listed),
        hot_desk=sessions,
    )


def to_e164(dialled: str, region: str) -> str | None:
    """A dialled string as E.164: ``+…``, ``00…`` or a national number of ``region``."""
    text = dialled.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


class SqlSipDirectory:
    """CredentialStore, DialPlan and HotDesk over the directory, served from an in-memory snapshot.

    CFG-13: a hot-desk login or logout goes through the control plane's use cases
    (``nuage.services.hot_desk``: the same rules as through the API), is stored before it is
    confirmed, and applies in memory at once; until a snapshot read after it shows it, the local
    change wins over the snapshot.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        refresh_s: float = 2.0,
        home_region: str = "BE",
        clock: Clock | None = None,
        hot_desk_timeout: timedelta = timedelta(hours=12),
    ) -> None:
        self._engine = engine
        self._region = home_region
        self._clock = clock or SystemClock()
        self._hot_desk_timeout = hot_desk_timeout
        self._view = RefreshedSnapshot(
            self._load, DirectorySnapshot(), name="sip-directory", refresh_s=refresh_s, on_load=self._loaded
        )
        self._changes = ChangeWatch()
        self._last_miss_reload = 0.0
        # device -> (session or None, time.monotonic() once stored): not yet in a snapshot
        self._hot_desk_changes: dict[str, tuple[HotDeskSession | None, float]] = {}
        #: told the carrier gateways' hosts after each load (SIP-5: the security guard trusts them)
        self.on_carriers: Callable[[frozenset[str]], None] | None = None

    def _loaded(self, snapshot: DirectorySnapshot) -> None:
        for device_id, (_, stored_at) in list(self._hot_desk_changes.items()):
            if stored_at <= snapshot.read_at:
                del self._hot_desk_changes[device_id]
        if self.on_carriers is not None:
            self.on_carriers(frozenset(carrier.host for carrier in snapshot.carriers))

    @property
    def _snapshot(self) -> DirectorySnapshot:
        return self._view.value

    def _load(self) -> DirectorySnapshot:
        started = time.monotonic()
        with self._engine.connect() as connection:
            fingerprint = self._changes.fingerprint(connection)
            if self._changes.unchanged(fingerprint):
                return self._view.value  # nothing it is built from changed: no rebuild
            snapshot = replace(load_snapshot(connection), read_at=started)
        self._changes.built(fingerprint)
        return snapshot

    async def reload(self) -> None:
        """Read the directory again (in a worker thread)."""
        await self._view.reload()

    async def start(self) -> None:
        """Load the first snapshot and keep it current."""
        await self._view.start()

    async def stop(self) -> None:
        """Stop refreshing."""
        await self._view.stop()

    # -- CredentialStore ------------------------------------------------------------------

    async def find_account(self, username: str) -> SipAccount | None:
        """The device with this SIP username; an unknown one triggers one (rate-limited) reload."""
        found = self._snapshot.accounts.get(username)
        if found is None:
            now = time.monotonic()
            if now - self._last_miss_reload < 1.0:
                return None  # SIP-5: a scanner trying usernames cannot make us hammer the database
            self._last_miss_reload = now
            await self.reload()
            found = self._snapshot.accounts.get(username)
        return self._as_logged_in(found) if found is not None and found.hot_desk else found

    # -- HotDesk (CFG-13) -------------------------------------------------------------------

    def _session(self, device_id: str) -> HotDeskSession | None:
        if device_id in self._hot_desk_changes:
            session = self._hot_desk_changes[device_id][0]
        else:
            session = self._snapshot.hot_desk.get(device_id)
        return session if session is not None and session.active_at(self._clock.now()) else None

    def _as_logged_in(self, phone: SipAccount) -> SipAccount:
        """A shared phone as its logged-in user (EMG-3: its emergency caller ID stays the phone's)."""
        session = self._session(phone.device_id)
        user = self._snapshot.users.get(session.user_id) if session is not None else None
        if session is None or user is None or user.account_id != phone.account_id:
            return phone
        return replace(
            phone,
            user_id=session.user_id,
            display_name=user.name,
            caller_id_e164=user.caller_id or phone.caller_id_e164,
        )

    async def log_in(self, phone: SipAccount, extension: str, pin: str) -> SipAccount | None:
        """CFG-13: the user with this extension and PIN now uses ``phone`` (see ``HotDesk``)."""
        if not phone.hot_desk:
            return None
        snapshot = self._snapshot
        user_id = snapshot.extensions.get((phone.account_id, extension))
        user = snapshot.users.get(user_id) if user_id is not None else None
        pin_hash = user.pin_hash if user is not None else None
        if not await asyncio.to_thread(verify_secret, pin_hash, pin) or user_id is None:
            return None
        ended = [  # a user sits at one shared phone at a time (the use case ends the others)
            device_id
            for device_id in {**snapshot.hot_desk, **self._hot_desk_changes}
            if (other := self._session(device_id)) is not None and other.user_id == user_id
        ]
        session = await asyncio.to_thread(self._store_login, phone, user_id)
        if session is None:
            return None
        stored_at = time.monotonic()
        for device_id in ended:
            self._hot_desk_changes[device_id] = (None, stored_at)
        self._hot_desk_changes[phone.device_id] = (session, stored_at)
        log.info("hot desk: user %s logged in on device %s", user_id, phone.device_id)
        return self._as_logged_in(phone)

    async def log_out(self, phone: SipAccount) -> bool:
        """CFG-13: end the session on ``phone``."""
        if self._session(phone.device_id) is None:
            return False
        await asyncio.to_thread(self._store_logout, phone.device_id)
        self._hot_desk_changes[phone.device_id] = (None, time.monotonic())
        log.info("hot desk: logged out of device %s", phone.device_id)
        return True

    def _store_login(self, phone: SipAccount, user_id: str) -> HotDeskSession | None:
        """The phone acts within its own account (TEN-4); None when a rule of the use case says no."""
        scope = TenantScope(phone.account_id, frozenset({phone.account_id}))
        with SqlUnitOfWork(self._engine) as uow:
            try:
                session = hot_desk.log_in(
                    uow, Context(scope, self._clock), phone.device_id, user_id, timeout=self._hot_desk_timeout
                )
            except NuageError as refused:
                log.info("hot desk: login on device %s refused: %s", phone.device_id, refused)
                return None
            uow.commit()
        return session

    def _store_logout(self, device_id: str) -> None:
        with SqlUnitOfWork(self._engine) as uow:
            hot_desk.end_sessions(uow, device_id=device_id)
            uow.commit()

    # -- DialPlan ---------------------------------------------------------------------------

    def _route(self, route: _NumberRoute) -> Destination | None:
        if route.user_id:
            return self._user(route.user_id)
        if route.device_id:
            return DeviceDestination(route.device_id, route.account_id)
        if route.trunk_id:
            return self._snapshot.trunks.get(route.trunk_id)  # SIP-3: the number rings the PBX
        return None  # unassigned

    def _user(self, user_id: str) -> UserDestination | None:
        snapshot = self._snapshot
        user = snapshot.users.get(user_id)
        if user is None:
            return None
        devices = snapshot.user_devices.get(user_id, ())
        shared = tuple(  # CFG-13: the shared phones the user is logged in on ring too
            device_id
            for device_id in {**snapshot.hot_desk, **self._hot_desk_changes}
            if (session := self._session(device_id)) is not None and session.user_id == user_id
        )
        return UserDestination(user_id, user.account_id, devices + shared)

    async def resolve(self, caller: SipAccount, dialled: str) -> Destination | None:
        """Extension or SIP username of the caller's account, a platform number, else the carrier."""
        snapshot = self._snapshot
        text = dialled.strip()
        if text in snapshot.emergency_numbers:
            return (
                ExternalDestination(text, snapshot.carriers[0], emergency=True) if snapshot.carriers else None
            )
        user_id = snapshot.extensions.get((caller.account_id, text))
        if user_id is not None:
            return self._user(user_id)
        device_id = snapshot.device_usernames.get((caller.account_id, text))
        if device_id is not None:
            return DeviceDestination(device_id, caller.account_id)
        e164 = to_e164(text, self._region)
        if e164 is None:
            return None
        route = snapshot.numbers.get(e164)
        if route is not None:
            return self._route(route)
        return ExternalDestination(e164, snapshot.carriers[0]) if snapshot.carriers else None

    async def find_carrier(self, host: str, port: int) -> CarrierTrunk | None:
        """The carrier whose gateway is ``host:port``.

        UDP carriers send from their signalling port, so the port must match too (phones on the
        same host are not carriers); a TCP carrier's source port is ephemeral, its host decides.
        """
        carriers = self._snapshot.carriers
        exact = next((c for c in carriers if c.host == host and c.port == port), None)
        return exact or next((c for c in carriers if c.host == host and c.transport == "TCP"), None)

    async def resolve_inbound(self, trunk: CarrierTrunk, did_e164: str) -> Destination | None:
        """The user, device or customer trunk a platform number is assigned to."""
        e164 = to_e164(did_e164, self._region)
        route = self._snapshot.numbers.get(e164) if e164 else None
        return self._route(route) if route is not None else None

    async def find_trunk(self, host: str, port: int) -> SipAccount | None:
        """SIP-3: the IP-authenticated trunk ``host:port`` belongs to (exact ``ip:port`` first)."""
        trunks = self._snapshot.ip_trunks
        if not trunks:
            return None
        try:
            address = ip_address(host)
        except ValueError:
            return None
        for trunk in trunks:
            if trunk.address.port in (None, port) and address in trunk.address.network:
                return trunk.account
        return None


class SqlBindingStore:
    """Registrations persisted write-behind: upserts and deletes are batched every ``flush_s``."""

    def __init__(self, engine: Engine, *, flush_s: float = 0.2) -> None:
        self._engine = engine
        self._flush_s = flush_s
        self._pending: dict[tuple[str, str], Binding | None] = {}
        self._flusher: asyncio.Task[None] | None = None

    def _read_all(self) -> list[Binding]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(tables.sip_bindings)).mappings().all()
        bindings = []
        for row in rows:
            host, _, port = (row["received"] or ":0").rpartition(":")
            bindings.append(
                Binding(
                    device_id=row["device_id"] or "",
                    username=row["aor"],
                    contact=row["contact"],
                    expires_at=row["expires_at"],
                    call_id=row["call_id"],
                    cseq=row["cseq"],
                    source_transport=row["transport"],
                    source_host=host.strip("[]"),
                    source_port=int(port or 0),
                    registered_at=row["updated_at"],
                    user_agent=row["user_agent"] or "",
                    q=float(row["q"]) if row["q"] is not None else None,
                )
            )
        return bindings

    async def load_all(self) -> list[Binding]:
        """Every stored binding."""
        return await asyncio.to_thread(self._read_all)

    async def upsert(self, binding: Binding) -> None:
        """Queue the binding for the next batch."""
        self._pending[(binding.device_id, binding.contact)] = binding
        self._schedule()

    async def delete(self, device_id: str, contact: str) -> None:
        """Queue the removal for the next batch."""
        self._pending[(device_id, contact)] = None
        self._schedule()

    def _schedule(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later(), name="sip-bindings-flush")

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_s)
        await self.flush()

    async def flush(self) -> None:
        """Write what is queued, in one transaction."""
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            await asyncio.to_thread(self._write, batch)
        except Exception:
            log.exception("could not store %d registration changes; retrying", len(batch))
            for key, value in batch.items():
                self._pending.setdefault(key, value)
            self._schedule()

    def _write(self, batch: dict[tuple[str, str], Binding | None]) -> None:
        table = tables.sip_bindings
        with self._engine.begin() as connection:
            for (device_id, contact), binding in batch.items():
                connection.execute(
                    delete(table).where(and_(table.c.device_id == device_id, table.c.contact == contact))
                )
                if binding is None:
                    continue
                connection.execute(
                    delete(table).where(and_(table.c.aor == binding.username, table.c.contact == contact))
                )
                connection.execute(
                    insert(table).values(
                        aor=binding.username,
                        contact=contact,
                        device_id=device_id,
                        expires_at=binding.expires_at,
                        received=f"{binding.source_host}:{binding.source_port}",
                        transport=binding.source_transport,
                        call_id=binding.call_id,
                        cseq=binding.cseq,
                        user_agent=binding.user_agent[:256] or None,
                        q=Decimal(str(binding.q)) if binding.q is not None else None,
                        updated_at=binding.registered_at,
                    )
                )

    async def close(self) -> None:
        """Write what is left."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        await self.flush()


class SqlCdrSink:
    """SIP-1: stores the batches of CDRs the writer hands over, one transaction per batch."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def write(self, records: Sequence[CdrRecord]) -> None:
        """Insert a batch of CDRs."""
        if records:
            await asyncio.to_thread(self._insert, list(records))

    def _insert(self, records: list[CdrRecord]) -> None:
        now = datetime.now(UTC)
        rows = [
            {
                "id": new_ordered_id("cdr"),
                "call_id": r.call_id,
                "account_id": r.account_id,
                "direction": r.direction.value,
                "caller": r.caller[:128],
                "callee": r.callee[:128],
                "device_id": r.device_id,
                "user_id": None,
                "trunk_id": r.customer_trunk_id,
                "carrier_trunk_id": r.trunk_id,
                "started_at": r.started_at,
                "answered_at": r.answered_at,
                "ended_at": r.ended_at,
                "billable_seconds": r.billable_seconds,
                "outcome": r.outcome.value,
                "sip_status": r.sip_status,
                "refusal_rule": r.refusal_rule_id,
                "emergency": r.emergency,
                "source": "sip",
                "recorded_at": now,
            }
            for r in records
        ]
        with self._engine.begin() as connection:
            connection.execute(insert(tables.cdrs), rows)
