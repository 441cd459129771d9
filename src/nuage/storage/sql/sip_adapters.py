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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import phonenumbers
from sqlalchemy import Connection, Engine, and_, delete, insert, select

from nuage.shared.ids import new_id
from nuage.sip.ports import (
    Binding,
    CarrierTrunk,
    CdrRecord,
    Destination,
    DeviceDestination,
    ExternalDestination,
    SipAccount,
    UserDestination,
)
from nuage.storage.sql import tables
from nuage.storage.sql.snapshots import RefreshedSnapshot
from nuage.terms.emergency import EMERGENCY_NUMBERS

log = logging.getLogger("nuage.storage.sip")


@dataclass(frozen=True)
class _NumberRoute:
    account_id: str
    user_id: str | None
    device_id: str | None
    trunk_id: str | None


@dataclass(frozen=True)
class DirectorySnapshot:
    """What the data plane needs of the directory, read in one go."""

    accounts: dict[str, SipAccount] = field(default_factory=dict)
    user_devices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    user_accounts: dict[str, str] = field(default_factory=dict)
    extensions: dict[tuple[str, str], str] = field(default_factory=dict)  # (account, extension) -> user
    device_usernames: dict[tuple[str, str], str] = field(
        default_factory=dict
    )  # (account, username) -> device
    numbers: dict[str, _NumberRoute] = field(default_factory=dict)
    carriers: tuple[CarrierTrunk, ...] = ()


def load_snapshot(connection: Connection) -> DirectorySnapshot:
    """Read the directory's SIP view in one transaction."""
    numbers: dict[str, _NumberRoute] = {}
    user_number: dict[str, str] = {}
    device_number: dict[str, str] = {}
    main_number: dict[str, str] = {}
    for row in connection.execute(select(tables.phone_numbers)).mappings():
        numbers[row["e164"]] = _NumberRoute(
            row["account_id"], row["user_id"], row["device_id"], row["trunk_id"]
        )
        if row["user_id"]:
            user_number.setdefault(row["user_id"], row["e164"])
        if row["device_id"]:
            device_number.setdefault(row["device_id"], row["e164"])
        if row["main"]:
            main_number[row["account_id"]] = row["e164"]
    user_names: dict[str, str] = {}
    user_accounts: dict[str, str] = {}
    extensions: dict[tuple[str, str], str] = {}
    for row in connection.execute(select(tables.users)).mappings():
        user_names[row["id"]] = row["name"]
        user_accounts[row["id"]] = row["account_id"]
        if row["extension"] and not row["no_service"]:
            extensions[(row["account_id"], row["extension"])] = row["id"]
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
        accounts[row["sip_username"]] = SipAccount(
            device_id=row["id"],
            account_id=row["account_id"],
            user_id=user_id,
            username=row["sip_username"],
            password=row["sip_password"] or "",
            display_name=user_names.get(user_id, row["label"]) if user_id else row["label"],
            caller_id_e164=caller_id,
        )
        device_usernames[(row["account_id"], row["sip_username"])] = row["id"]
        if user_id:
            user_devices.setdefault(user_id, []).append(row["id"])
    carriers = tuple(
        CarrierTrunk(row["id"], row["host"], row["port"], row["transport"].upper())
        for row in connection.execute(
            select(tables.carrier_trunks)
            .where(tables.carrier_trunks.c.enabled.is_(True))
            .order_by(tables.carrier_trunks.c.created_at, tables.carrier_trunks.c.id)
        ).mappings()
    )
    return DirectorySnapshot(
        accounts=accounts,
        user_devices={k: tuple(v) for k, v in user_devices.items()},
        user_accounts=user_accounts,
        extensions=extensions,
        device_usernames=device_usernames,
        numbers=numbers,
        carriers=carriers,
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
    """CredentialStore and DialPlan over the directory, served from an in-memory snapshot."""

    def __init__(self, engine: Engine, *, refresh_s: float = 2.0, home_region: str = "BE") -> None:
        self._engine = engine
        self._region = home_region
        self._view = RefreshedSnapshot(
            self._load, DirectorySnapshot(), name="sip-directory", refresh_s=refresh_s, on_load=self._loaded
        )
        self._last_miss_reload = 0.0
        #: told the carrier gateways' hosts after each load (SIP-5: the security guard trusts them)
        self.on_carriers: Callable[[frozenset[str]], None] | None = None

    def _loaded(self, snapshot: DirectorySnapshot) -> None:
        if self.on_carriers is not None:
            self.on_carriers(frozenset(carrier.host for carrier in snapshot.carriers))

    @property
    def _snapshot(self) -> DirectorySnapshot:
        return self._view.value

    def _load(self) -> DirectorySnapshot:
        with self._engine.connect() as connection:
            return load_snapshot(connection)

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
        if found is not None:
            return found
        now = time.monotonic()
        if now - self._last_miss_reload < 1.0:
            return None  # SIP-5: a scanner trying usernames cannot make us hammer the database
        self._last_miss_reload = now
        await self.reload()
        return self._snapshot.accounts.get(username)

    # -- DialPlan ---------------------------------------------------------------------------

    def _route(self, route: _NumberRoute) -> Destination | None:
        if route.user_id:
            return self._user(route.user_id)
        if route.device_id:
            return DeviceDestination(route.device_id, route.account_id)
        return None  # unassigned (or routed to a customer trunk: the trunking policy handles it)

    def _user(self, user_id: str) -> UserDestination | None:
        account = self._snapshot.user_accounts.get(user_id)
        if account is None:
            return None
        return UserDestination(user_id, account, self._snapshot.user_devices.get(user_id, ()))

    async def resolve(self, caller: SipAccount, dialled: str) -> Destination | None:
        """Extension or SIP username of the caller's account, a platform number, else the carrier."""
        snapshot = self._snapshot
        text = dialled.strip()
        if text in EMERGENCY_NUMBERS:
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
        """The user or device a platform number is assigned to."""
        e164 = to_e164(did_e164, self._region)
        route = self._snapshot.numbers.get(e164) if e164 else None
        return self._route(route) if route is not None else None


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
                "id": new_id("cdr"),
                "call_id": r.call_id,
                "account_id": r.account_id,
                "direction": r.direction.value,
                "caller": r.caller[:128],
                "callee": r.callee[:128],
                "device_id": r.device_id,
                "user_id": None,
                "trunk_id": None,
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
