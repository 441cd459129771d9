"""The SIP data plane's CredentialStore and DialPlan over SQL storage, served from memory.

Call set-up never waits on the database: ``SqlSipDirectory`` keeps a snapshot of the directory
(``sip_snapshot``: credentials, the dial plan, carriers, hot-desk sessions) in memory, brought up
to date in a worker thread every few seconds and at once (rate-limited) when an unknown username
shows up. It is read whole once, at start; after that the change journal (``ChangeFeed``) names
the accounts and tables that changed, and only their rows are read and applied. The
routing rules are ``nuage.directory.dialplan``'s; this module turns its answers into the SIP plane's
destinations; a number leading to a virtual fax (CFG-7, unassigned) is looked up when called.
CFG-13: hot-desk changes stored by the SIP plane's HotDesk adapter apply here at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from ipaddress import ip_address

from sqlalchemy import Engine, select

from nuage.directory.dialplan import (
    NumberRoute,
    ToCarrier,
    ToDevice,
    ToEmergency,
    ToNumber,
    ToUser,
)
from nuage.directory.model import HotDeskSession
from nuage.shared.clock import Clock, SystemClock
from nuage.shared.collector import release_gradually
from nuage.shared.phone import dialled_to_e164
from nuage.sip.ports import (
    CarrierTrunk,
    Destination,
    DeviceDestination,
    ExternalDestination,
    FaxDestination,
    GroupDestination,
    SipAccount,
    UserDestination,
)
from nuage.sip.routing import ForwardingRule, HuntGroup, RoutedUser
from nuage.storage.sql import tables
from nuage.storage.sql.sip_snapshot import (
    ACCOUNT_TABLES,
    PLATFORM_TABLES,
    DirectorySnapshot,
    DirectoryState,
    IpTrunk,
    load_state,
    read_accounts,
    read_platformwide,
)
from nuage.storage.sql.snapshots import ChangeFeed, RefreshedSnapshot

#: more changed accounts than this at once (a bulk import) and the whole directory is read again
FULL_LOAD_ABOVE = 2_000


class SqlSipDirectory:
    """CredentialStore and DialPlan over the directory, served from an in-memory snapshot.

    CFG-13: a hot-desk login or logout stored through ``record_hot_desk`` applies in memory at once;
    until a snapshot read after it shows it, the local change wins over the snapshot.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        refresh_s: float = 2.0,
        home_region: str = "BE",
        clock: Clock | None = None,
    ) -> None:
        self._engine = engine
        self._region = home_region
        self._clock = clock or SystemClock()
        self._view = RefreshedSnapshot(
            self._load, DirectorySnapshot(), name="sip-directory", refresh_s=refresh_s, on_load=self._loaded
        )
        self._changes = ChangeFeed((*ACCOUNT_TABLES, *PLATFORM_TABLES))
        self._state: DirectoryState | None = None
        #: how many times the directory was read whole, and how many changes were applied
        self.full_loads = 0
        self.applied = 0
        self._last_miss_reload = 0.0
        # device -> (session or None, time.monotonic() once stored): not yet in a snapshot
        self._hot_desk_changes: dict[str, tuple[HotDeskSession | None, float]] = {}
        # SIP-3 answers by source address, for the trunks they were found in (find_trunk)
        self._trunk_of: dict[tuple[str, int], SipAccount | None] = {}
        self._trunk_of_for: tuple[IpTrunk, ...] = ()
        #: told the carrier gateways after each load (SIP-5: the security guard trusts each at its
        #: address and port)
        self.on_carriers: Callable[[Sequence[CarrierTrunk]], None] | None = None
        #: read again with the directory (``reload``): what other planes keep beside it
        self.also_reload: list[Callable[[], Awaitable[None]]] = []

    def _loaded(self, snapshot: DirectorySnapshot) -> None:
        for device_id, (_, stored_at) in list(self._hot_desk_changes.items()):
            if stored_at <= snapshot.read_at:
                del self._hot_desk_changes[device_id]
        if self.on_carriers is not None:
            self.on_carriers(snapshot.carriers)

    @property
    def _snapshot(self) -> DirectorySnapshot:
        return self._view.value

    def _load(self) -> DirectorySnapshot:
        started = time.monotonic()
        with self._engine.connect() as connection:
            changes = self._changes.read(connection)  # before the data: nothing is missed
            state = self._state
            if (
                state is None
                or changes.everything
                or len(changes.accounts) > FULL_LOAD_ABOVE
                or not changes.tables.isdisjoint(ACCOUNT_TABLES)  # e.g. a TRUNCATE
            ):
                try:
                    state = load_state(connection, region=self._region)
                except BaseException:
                    self._changes.forget()  # read whole at the next tick
                    raise
                replaced: list[object] = [self._state]
                self._state = state
                release_gradually(replaced)  # not one long cascade holding the GIL (``snapshots``)
                self._view.read_whole()
                self.full_loads += 1
            elif not changes:
                return self._view.value  # nothing it is built from changed
            else:
                try:
                    state.platform = read_platformwide(connection, changes.tables, state.platform)
                    state.apply(read_accounts(connection, changes.accounts))
                except BaseException:
                    self._state = None  # half applied, perhaps: read whole at the next tick
                    raise
                self.applied += 1
        return state.snapshot(read_at=started)

    async def reload(self) -> None:
        """Read the directory again (in a worker thread), and what is kept beside it."""
        await self._view.reload()
        for reload in self.also_reload:
            await reload()

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
        return self.as_logged_in(found) if found is not None and found.hot_desk else found

    # -- hot-desk state (CFG-13), kept for the HotDesk adapter ------------------------------

    def session(self, device_id: str) -> HotDeskSession | None:
        """The session in force on a shared phone, the local changes first."""
        if device_id in self._hot_desk_changes:
            session = self._hot_desk_changes[device_id][0]
        else:
            session = self._snapshot.hot_desk.get(device_id)
        return session if session is not None and session.active_at(self._clock.now()) else None

    def phones_of(self, user_id: str) -> tuple[str, ...]:
        """The shared phones the user is logged in on: those of the user's sessions in the
        snapshot and of the changes stored since (a few), not every session of the platform."""
        candidates = dict.fromkeys(
            (*self._snapshot.hot_desk_by_user.get(user_id, ()), *self._hot_desk_changes)
        )
        return tuple(
            device_id
            for device_id in candidates
            if (session := self.session(device_id)) is not None and session.user_id == user_id
        )

    def login_candidate(self, account_id: str, extension: str) -> tuple[str, str | None] | None:
        """The user with this extension in the account and their PIN hash (None: no login)."""
        snapshot = self._snapshot
        user_id = snapshot.plan.extensions.get((account_id, extension))
        user = snapshot.users.get(user_id) if user_id is not None else None
        return (user_id, user.pin_hash) if user_id is not None and user is not None else None

    def record_hot_desk(
        self, device_id: str, session: HotDeskSession | None, ended: tuple[str, ...] = ()
    ) -> None:
        """A login (or logout, ``session`` None) now stored: it applies at once, ending ``ended``."""
        stored_at = time.monotonic()
        for other in ended:
            self._hot_desk_changes[other] = (None, stored_at)
        self._hot_desk_changes[device_id] = (session, stored_at)

    def as_logged_in(self, phone: SipAccount) -> SipAccount:
        """A shared phone as its logged-in user (EMG-3: its emergency caller ID stays the phone's)."""
        session = self.session(phone.device_id)
        user = self._snapshot.users.get(session.user_id) if session is not None else None
        if session is None or user is None or user.account_id != phone.account_id:
            return phone
        return replace(
            phone,
            user_id=session.user_id,
            display_name=user.name,
            caller_id_e164=user.caller_id or phone.caller_id_e164,
        )

    # -- DialPlan ---------------------------------------------------------------------------

    def _route(self, route: NumberRoute) -> Destination | None:
        if route.user_id:
            return self._user(route.user_id)
        if route.device_id:
            return DeviceDestination(route.device_id, route.account_id)
        if route.trunk_id:
            return self._snapshot.trunks.get(route.trunk_id)  # SIP-3: the number rings the PBX
        if route.ring_group_id:
            return GroupDestination(route.ring_group_id, route.account_id)  # issue #15
        return None  # unassigned

    def _user(self, user_id: str) -> UserDestination | None:
        snapshot = self._snapshot
        user = snapshot.users.get(user_id)
        if user is None:
            return None
        devices = snapshot.user_devices.get(user_id, ())
        # CFG-13: the shared phones the user is logged in on ring too
        return UserDestination(user_id, user.account_id, devices + self.phones_of(user_id))

    async def resolve(self, caller: SipAccount, dialled: str) -> Destination | None:
        """Extension (of a user or a ring group) or SIP username of the caller's account, a platform
        number, else the carrier (EMG-4: an emergency number first)."""
        snapshot = self._snapshot
        group_id = snapshot.group_extensions.get((caller.account_id, dialled.strip()))
        if group_id is not None and dialled.strip() not in snapshot.plan.emergency:
            return GroupDestination(group_id, caller.account_id)
        match snapshot.plan.route(caller.account_id, dialled):
            case ToEmergency(number):
                carriers = snapshot.carriers
                return ExternalDestination(number, carriers[0], emergency=True) if carriers else None
            case ToUser(user_id):
                return self._user(user_id)
            case ToDevice(device_id, account_id):
                return DeviceDestination(device_id, account_id)
            case ToNumber(route):
                found = self._route(route)
                return found if found is not None else await self._fax_of(dialled)
            case ToCarrier(e164):
                return ExternalDestination(e164, snapshot.carriers[0]) if snapshot.carriers else None
        return None

    # -- call routing (issue #15): the reads of ``nuage.sip.routing.CallRouting`` ----------------

    def forwarding(self, user_id: str) -> ForwardingRule | None:
        """The user's forwarding and do-not-disturb, or None."""
        return self._snapshot.forwarding.get(user_id)

    def user(self, user_id: str) -> RoutedUser | None:
        """The user, where their phones ring, and the number they present (SIP-2)."""
        user = self._snapshot.users.get(user_id)
        if user is None:
            return None
        return RoutedUser(user_id, user.account_id, user.name, user.caller_id, self._user(user_id))

    def group(self, group_id: str) -> HuntGroup | None:
        """The ring group, or None."""
        return self._snapshot.groups.get(group_id)

    async def find_carrier(self, host: str, port: int) -> CarrierTrunk | None:
        """The carrier whose gateway is ``host:port``.

        UDP carriers send from their signalling port, so the port must match too (phones on the
        same host are not carriers); a TCP (or TLS) carrier's source port is ephemeral, its host decides.
        """
        return self._carrier(host, port)

    def _carrier(self, host: str, port: int) -> CarrierTrunk | None:
        carriers = self._snapshot.carriers
        exact = next((c for c in carriers if c.host == host and c.port == port), None)
        return exact or next((c for c in carriers if c.host == host and c.transport in ("TCP", "TLS")), None)

    def known_peer(self, host: str, port: int) -> bool:
        """A carrier's gateway or an IP-authenticated trunk's PBX (SIP-3): not challenged."""
        return self._carrier(host, port) is not None or self._trunk(host, port) is not None

    async def resolve_inbound(self, trunk: CarrierTrunk, did_e164: str) -> Destination | None:
        """The user, device or customer trunk a platform number is assigned to."""
        route = self._snapshot.plan.inbound(did_e164)
        if route is None:
            return None
        found = self._route(route)
        return found if found is not None else await self._fax_of(did_e164)

    async def _fax_of(self, dialled: str) -> FaxDestination | None:
        """CFG-7: the virtual fax an unassigned platform number leads to (read in a thread: only
        calls to unassigned numbers ask, and virtual faxes are not in the snapshot)."""
        e164 = dialled_to_e164(dialled, self._region)
        if e164 is None:
            return None

        def find() -> FaxDestination | None:
            faxes, numbers = tables.virtual_faxes, tables.phone_numbers
            query = (
                select(faxes.c.id, faxes.c.account_id)
                .join(numbers, numbers.c.id == faxes.c.number_id)
                .where(numbers.c.e164 == e164)
            )
            with self._engine.connect() as connection:
                row = connection.execute(query).first()
            return FaxDestination(row.id, row.account_id) if row is not None else None

        return await asyncio.to_thread(find)

    async def find_trunk(self, host: str, port: int) -> SipAccount | None:
        """SIP-3: the IP-authenticated trunk ``host:port`` belongs to (exact ``ip:port`` first).

        Every request of every call asks, and reading the address then testing it against each
        block cost about 2 % of the SIP thread under load (issue #22): the answer for a source is
        kept until the snapshot's trunks change, for at most 4,096 sources at a time."""
        return self._trunk(host, port)

    def _trunk(self, host: str, port: int) -> SipAccount | None:
        trunks = self._snapshot.ip_trunks
        if not trunks:
            return None
        if trunks is not self._trunk_of_for:
            self._trunk_of.clear()
            self._trunk_of_for = trunks
        key = (host, port)
        if key in self._trunk_of:
            return self._trunk_of[key]
        found = _trunk_for(trunks, host, port)
        if len(self._trunk_of) >= 4096:  # a flood of sources only empties the memo
            self._trunk_of.clear()
        self._trunk_of[key] = found
        return found


def _trunk_for(trunks: tuple[IpTrunk, ...], host: str, port: int) -> SipAccount | None:
    try:
        address = ip_address(host)
    except ValueError:
        return None
    for trunk in trunks:
        if trunk.address.port in (None, port) and address in trunk.address.network:
            return trunk.account
    return None
