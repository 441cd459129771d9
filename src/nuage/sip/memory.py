"""In-memory implementations of the ports: real, usable fakes for tests and lab set-ups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from nuage.sip.ports import (
    Binding,
    CarrierTrunk,
    CdrRecord,
    Destination,
    DeviceDestination,
    ExternalDestination,
    GroupDestination,
    JournalEntry,
    SipAccount,
    UserDestination,
)
from nuage.terms.emergency import EMERGENCY_NUMBERS


class MemoryCredentialStore:
    """Accounts kept in a dict by username."""

    def __init__(self, accounts: Iterable[SipAccount] = ()) -> None:
        self._by_username = {account.username: account for account in accounts}

    def add(self, account: SipAccount) -> None:
        """Add or replace an account."""
        self._by_username[account.username] = account

    async def find_account(self, username: str) -> SipAccount | None:
        """The account with this username, or None."""
        return self._by_username.get(username)

    def accounts(self) -> list[SipAccount]:
        """Every account."""
        return list(self._by_username.values())


class MemoryDialPlan:
    """A dial plan from plain data.

    A dialled user part resolves, in order, to: an emergency number (external, emergency);
    a user of the caller's account by extension or username; a ring group by extension; a device
    by username; a number assigned on the platform (internal call); an E.164 number (``+`` and
    digits, or ``00`` prefix) through the carrier trunk.
    """

    def __init__(
        self,
        credentials: MemoryCredentialStore,
        *,
        carrier: CarrierTrunk | None = None,
        users: dict[str, str] | None = None,  # extension or user name -> user_id
        numbers: dict[str, Destination] | None = None,  # E.164 DID -> destination
        emergency_numbers: frozenset[str] = EMERGENCY_NUMBERS,
        ip_trunks: dict[tuple[str, int], SipAccount] | None = None,  # PBX source -> trunk (SIP-3)
        groups: dict[str, GroupDestination] | None = None,  # extension -> ring group (issue #15)
    ) -> None:
        self._credentials = credentials
        self.ip_trunks = dict(ip_trunks or {})
        self.carrier = carrier
        self.users = dict(users or {})
        self.numbers = dict(numbers or {})
        self.emergency_numbers = emergency_numbers
        self.groups = dict(groups or {})

    def user_destination(self, user_id: str) -> UserDestination | None:
        """All devices of a user, from the credential store."""
        devices = [a for a in self._credentials.accounts() if a.user_id == user_id]
        if not devices:
            return None
        return UserDestination(user_id, devices[0].account_id, tuple(a.device_id for a in devices))

    async def resolve(self, caller: SipAccount, dialled: str) -> Destination | None:
        """See the class docstring."""
        if dialled in self.emergency_numbers and self.carrier is not None:
            return ExternalDestination(dialled, self.carrier, emergency=True)
        user_id = self.users.get(dialled)
        if user_id is not None:
            return self.user_destination(user_id)
        group = self.groups.get(dialled)
        if group is not None and group.account_id == caller.account_id:
            return group
        for account in self._credentials.accounts():
            if account.username == dialled:
                if account.user_id is not None:
                    return self.user_destination(account.user_id)
                return DeviceDestination(account.device_id, account.account_id)
        e164 = _as_e164(dialled)
        if e164 is None:
            return None
        if e164 in self.numbers:
            return self.numbers[e164]
        if self.carrier is not None:
            return ExternalDestination(e164, self.carrier)
        return None

    async def find_carrier(self, host: str, port: int) -> CarrierTrunk | None:
        """The carrier if its gateway host matches (any source port: gateways use several)."""
        return self._carrier(host)

    def _carrier(self, host: str) -> CarrierTrunk | None:
        return self.carrier if self.carrier is not None and self.carrier.host == host else None

    async def resolve_inbound(self, trunk: CarrierTrunk, did_e164: str) -> Destination | None:
        """The destination a DID is assigned to."""
        return self.numbers.get(_as_e164(did_e164) or did_e164)

    async def find_trunk(self, host: str, port: int) -> SipAccount | None:
        """The IP-authenticated trunk whose PBX is ``host:port``."""
        return self.ip_trunks.get((host, port))

    def known_peer(self, host: str, port: int) -> bool:
        """The carrier's gateway or an IP-authenticated trunk's PBX."""
        return self._carrier(host) is not None or (host, port) in self.ip_trunks


def _as_e164(dialled: str) -> str | None:
    if dialled.startswith("00") and dialled[2:].isdigit():
        return "+" + dialled[2:]
    if dialled.startswith("+") and dialled[1:].isdigit() and len(dialled) > 4:
        return dialled
    return None


class MemoryBindingStore:
    """Bindings in a dict keyed by (device_id, contact)."""

    def __init__(self) -> None:
        self.bindings: dict[tuple[str, str], Binding] = {}

    async def load_all(self) -> list[Binding]:
        """Every stored binding."""
        return list(self.bindings.values())

    async def upsert(self, binding: Binding) -> None:
        """Insert or replace."""
        self.bindings[(binding.device_id, binding.contact)] = binding

    async def delete(self, device_id: str, contact: str) -> None:
        """Remove if present."""
        self.bindings.pop((device_id, contact), None)


class MemoryCdrSink:
    """Keeps every CDR batch in a list."""

    def __init__(self) -> None:
        self.records: list[CdrRecord] = []
        self.batches = 0

    async def write(self, records: Sequence[CdrRecord]) -> None:
        """Append the batch."""
        self.records.extend(records)
        self.batches += 1


class MemoryCallJournalStore:
    """A call journal in memory, closing lost calls into a ``MemoryCdrSink`` (it outlives a server)."""

    def __init__(self, cdrs: MemoryCdrSink) -> None:
        self.cdrs = cdrs
        self.entries: dict[str, dict[tuple[str, str], JournalEntry]] = {}
        self.seen_at: dict[str, datetime] = {}

    async def write(
        self,
        node: str,
        entries: Sequence[JournalEntry],
        removed: Sequence[tuple[str, str]],
        seen_at: datetime,
    ) -> None:
        """Store, forget, and record the sign of life."""
        mine = self.entries.setdefault(node, {})
        for entry in entries:
            mine[(entry.call_id, entry.caller_tag)] = entry
        for key in removed:
            mine.pop(key, None)
        self.seen_at[node] = seen_at

    async def load(self, node: str) -> tuple[list[JournalEntry], datetime | None]:
        """The node's entries and last sign of life."""
        return list(self.entries.get(node, {}).values()), self.seen_at.get(node)

    async def close(self, node: str, records: Sequence[CdrRecord]) -> None:
        """Add the CDRs of calls without one, forget the node's entries."""
        known = {(r.call_id, r.started_at) for r in self.cdrs.records}
        await self.cdrs.write([r for r in records if (r.call_id, r.started_at) not in known])
        self.entries.pop(node, None)
