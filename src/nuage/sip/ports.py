"""The ports of the SIP data plane: everything it needs from the rest of Nuage.

The control plane implements these Protocols over its storage (SQL adapters) and its rules
(the terms-based CallPolicy); ``nuage.sip.memory`` ships in-memory implementations for tests
and lab set-ups. All look-ups are ``async`` so that adapters can hit a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    pass

# -- credentials ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SipAccount:
    """SIP-1: the credentials of one device, found by its digest username."""

    device_id: str
    account_id: str  # the customer party id the device belongs to
    user_id: str | None  # None for devices without a user (door phone, fax... CFG-3)
    username: str
    password: str  # plaintext: digest needs it (or an HA1); never logged
    display_name: str = ""
    caller_id_e164: str | None = None  # the number presented on external calls (SIP-2)
    emergency_caller_id: str | None = None  # EMG-2: presented on emergency calls (where it stands)
    trunk_id: str | None = None  # SIP-3: set when the "device" is a customer's PBX trunk
    hot_desk: bool = False  # CFG-13: a shared phone users log in on (then it acts as the user)


class CredentialStore(Protocol):
    """Finds SIP accounts by auth username."""

    async def find_account(self, username: str) -> SipAccount | None:
        """The account with this digest username, or None."""
        ...


class HotDesk(Protocol):
    """CFG-13: users log in on shared phones by dialling a feature code with their PIN."""

    async def log_in(self, phone: SipAccount, extension: str, pin: str) -> SipAccount | None:
        """Log the user with this extension (of the phone's account) and PIN in on ``phone``.

        Returns the phone's identity as that user, or None when the extension or PIN is wrong
        (one answer for both: a guess reveals nothing).
        """
        ...

    async def log_out(self, phone: SipAccount) -> bool:
        """End the session on ``phone``; whether someone was logged in."""
        ...


# -- dial plan --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CarrierTrunk:
    """The operator's carrier gateway: where external calls go and inbound calls come from."""

    trunk_id: str
    host: str
    port: int = 5060
    transport: str = "UDP"


@dataclass(frozen=True, slots=True)
class UserDestination:
    """A user: every registered contact of every device of the user rings in parallel (CFG-1)."""

    user_id: str
    account_id: str
    device_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceDestination:
    """One device (all its registered contacts ring)."""

    device_id: str
    account_id: str


@dataclass(frozen=True, slots=True)
class TrunkDestination:
    """SIP-3: a customer's PBX, reached through its trunk.

    A PBX that registers is reached at its registered contacts (kept under ``trunk_id``); one
    authenticated by IP at ``host:port``.
    """

    trunk_id: str
    account_id: str
    host: str | None = None  # IP-authenticated trunks: where the PBX takes calls
    port: int = 5060
    transport: str = "UDP"


@dataclass(frozen=True, slots=True)
class ExternalDestination:
    """An E.164 number outside the platform, reached through a carrier trunk."""

    e164: str
    trunk: CarrierTrunk
    emergency: bool = False


@dataclass(frozen=True, slots=True)
class GroupDestination:
    """A ring group (issue #15): its members ring together or in turn (``nuage.sip.b2bua.hunt``)."""

    group_id: str
    account_id: str


@dataclass(frozen=True, slots=True)
class FaxDestination:
    """CFG-7: a number that leads to a virtual fax, answered by Nuage's fax application."""

    fax_id: str
    account_id: str


@dataclass(frozen=True, slots=True)
class ApplicationDestination:
    """A media application of the account answers (a number routed to a menu, a schedule or a
    room, called from the public network): nothing is rung, Nuage answers the call itself."""

    account_id: str


Destination = (
    UserDestination
    | DeviceDestination
    | TrunkDestination
    | ExternalDestination
    | GroupDestination
    | FaxDestination
    | ApplicationDestination
)


class DialPlan(Protocol):
    """What a dialled number means (SIP-1)."""

    async def resolve(self, caller: SipAccount, dialled: str) -> Destination | None:
        """What ``dialled`` (the Request-URI user part) means for this caller; None: not found."""
        ...

    async def find_carrier(self, host: str, port: int) -> CarrierTrunk | None:
        """The carrier trunk whose gateway sent a request from ``host:port``, or None."""
        ...

    async def resolve_inbound(self, trunk: CarrierTrunk, did_e164: str) -> Destination | None:
        """The user or device an inbound number (DID, E.164) is assigned to; None: not assigned."""
        ...

    async def find_trunk(self, host: str, port: int) -> SipAccount | None:
        """SIP-3: the customer trunk authenticated by IP whose PBX sent from ``host:port``, or None."""
        ...

    def known_peer(self, host: str, port: int) -> bool:
        """A carrier's gateway or a trunk's PBX sent from ``host:port`` (no digest challenge)."""
        ...


# -- registrations ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Binding:
    """One registered contact of a device (RFC 3261 §10); the flow is where it registered from."""

    device_id: str
    username: str
    contact: str  # the Contact URI as registered
    expires_at: datetime  # aware UTC
    call_id: str
    cseq: int
    source_transport: str  # "UDP" / "TCP": the flow requests to this phone go through (NAT)
    source_host: str
    source_port: int
    registered_at: datetime
    user_agent: str = ""
    q: float | None = None


class BindingStore(Protocol):
    """Persists registrations so a restart does not forget phones."""

    async def load_all(self) -> list[Binding]:
        """Every stored binding (the registrar drops the expired ones)."""
        ...

    async def upsert(self, binding: Binding) -> None:
        """Insert or replace the binding of (device_id, contact)."""
        ...

    async def delete(self, device_id: str, contact: str) -> None:
        """Forget one binding (no error if absent)."""
        ...


# -- bans (SIP-5) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BanRecord:
    """SIP-5: a source address (an IP) whose messages are dropped until ``until`` (aware UTC)."""

    address: str
    since: datetime
    until: datetime
    reason: str


class BanStore(Protocol):
    """SIP-5: where bans are kept so that they outlive a restart and reach every SIP node."""

    async def active(self, now: datetime) -> list[BanRecord]:
        """The bans still in force at ``now``."""
        ...

    async def add(self, bans: Sequence[BanRecord]) -> None:
        """Store bans (replacing those of the same addresses)."""
        ...

    async def lift(self, address: str, now: datetime) -> bool:
        """Remove the ban of ``address``; whether one was in force at ``now``."""
        ...


# -- call policy (STYLE §2.7.4) ---------------------------------------------------------


class Direction(StrEnum):
    """Which way a call goes, seen from the platform."""

    INTERNAL = "internal"  # device to user/device of the platform
    OUTBOUND = "outbound"  # device to an external number (carrier)
    INBOUND = "inbound"  # carrier to a number of the platform


@dataclass(frozen=True, slots=True)
class CallAttempt:
    """Everything a policy may weigh before a call is placed."""

    call_id: str
    direction: Direction
    account_id: str | None  # the calling account; for inbound, the account of the number called
    device_id: str | None  # the calling device; None for inbound
    user_id: str | None
    presented_caller_id: str  # the From user part as presented (SIP-2 checks it)
    source_host: str
    source_port: int
    dialled: str  # the Request-URI user part
    destination: Destination
    emergency: bool  # EMG-4: never refused for capacity, suspension or credit
    trunk_id: str | None  # the carrier trunk used (outbound) or arrived on (inbound)
    customer_trunk_id: str | None = None  # SIP-3: the customer's PBX trunk the call came from or goes to
    web_channel: tuple[str, int] | None = None  # CFG-10: a widget call: (web channel id, its channels)


@dataclass(frozen=True, slots=True)
class Authorization:
    """The policy's yes: routes tried in order until one answers (route hunting)."""

    routes: tuple[Destination, ...]
    max_duration: timedelta | None  # None: no limit; EMG-4 calls always get None
    caller_id: str | None = None  # SIP-2: the E.164 to present (checked, normalised); None: the device's


@dataclass(frozen=True, slots=True)
class Refusal:
    """The policy's no, citing the rule of the terms (rendered as SIP status + Warning)."""

    rule_id: str  # "CAP-3", "SIP-2", "PAY-3", "SIP-4" ...
    reason: str


class CallPolicy(Protocol):
    """Authorises call attempts (CAP-3, SIP-2, PAY-3, EMG-4, SIP-4 live behind this port)."""

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        """Routes for the attempt, or a refusal citing a rule."""
        ...


# -- accounting -------------------------------------------------------------------------


class CallOutcome(StrEnum):
    """How an attempt ended."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    CANCELLED = "cancelled"
    REFUSED = "refused"  # the policy said no
    NOT_FOUND = "not-found"
    UNAVAILABLE = "unavailable"  # nobody registered / callee unreachable
    FAILED = "failed"  # any other final error
    NO_ACK = "no-ack"  # RFC 3261 §13.3.1.4: the caller never ACKed the 2xx: a failed call, nothing billed


NOT_ACKNOWLEDGED = "2xx never acknowledged"
"""The disposition of a CDR whose 2xx the caller never ACKed (RFC 3261 §13.3.1.4)."""

INTERRUPTED = "interrupted by node failure"
"""The disposition of a CDR a restarted node closed for a call its previous life lost."""

MEDIA_TIMEOUT = "media stopped"
"""The disposition of a CDR of an anchored call hung up because a phone's stream stopped."""


@dataclass(frozen=True, slots=True)
class CdrRecord:
    """SIP-1: one call detail record per attempt, priced later by rating.

    ``billable_seconds`` is the answered duration rounded *up* to a whole second (a started
    second counts; RAT-1 then prices per second); 0 when not answered.
    """

    call_id: str
    caller: str  # presented caller id (E.164 or username)
    callee: str  # dialled
    account_id: str | None
    device_id: str | None
    trunk_id: str | None
    direction: Direction
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    billable_seconds: int
    outcome: CallOutcome
    sip_status: int  # the final status the caller saw (200 for answered calls)
    refusal_rule_id: str | None
    emergency: bool
    customer_trunk_id: str | None = None  # SIP-3: the customer's PBX trunk the call came from or went to
    disposition: str | None = None  # why it ended, when unusual (NOT_ACKNOWLEDGED, INTERRUPTED)
    # an anchored call's media quality (issue #15): the worse stream's loss (%) and jitter, E-model MOS
    loss_percent: float | None = None
    jitter_ms: float | None = None
    mos: float | None = None


class CdrSink(Protocol):
    """Stores CDRs; the writer hands it batches."""

    async def write(self, records: Sequence[CdrRecord]) -> None:
        """Persist a batch (all or nothing is the adapter's business; errors are retried)."""
        ...


# -- crash journal (issue #20) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A call in progress as its node journals it: what its CDR needs if the node dies.

    ``caller_tag`` and ``callee_tag`` are our tags in the two dialogs (a BYE names one of them);
    ``callee_call_id`` is the Call-ID of the callee's leg (None until it is placed).
    """

    call_id: str
    caller_tag: str
    callee_call_id: str | None
    callee_tag: str | None
    started_at: datetime
    answered_at: datetime | None
    caller: str
    callee: str
    account_id: str | None
    device_id: str | None
    trunk_id: str | None
    customer_trunk_id: str | None
    direction: Direction
    emergency: bool


class CallJournalStore(Protocol):
    """Where a node journals its calls in progress, so that a restart can close their CDRs."""

    async def write(
        self,
        node: str,
        entries: Sequence[JournalEntry],
        removed: Sequence[tuple[str, str]],
        seen_at: datetime,
    ) -> None:
        """One transaction: ``entries`` stored (replacing those of the same call and caller tag),
        the ``removed`` (call id, caller tag) forgotten, ``seen_at`` recorded as the node's last sign
        of life."""
        ...

    async def load(self, node: str) -> tuple[list[JournalEntry], datetime | None]:
        """The entries a previous life of ``node`` left, and its last sign of life."""
        ...

    async def close(self, node: str, records: Sequence[CdrRecord]) -> None:
        """One transaction: the ``records`` of calls that have no CDR yet stored (a call is known by
        its Call-ID and start), and every entry of ``node`` forgotten."""
        ...


__all__ = [
    "Authorization",
    "BanRecord",
    "BanStore",
    "Binding",
    "BindingStore",
    "CallAttempt",
    "CallOutcome",
    "CallJournalStore",
    "CallPolicy",
    "CarrierTrunk",
    "CdrRecord",
    "CdrSink",
    "CredentialStore",
    "Destination",
    "DeviceDestination",
    "DialPlan",
    "Direction",
    "ExternalDestination",
    "GroupDestination",
    "HotDesk",
    "INTERRUPTED",
    "JournalEntry",
    "MEDIA_TIMEOUT",
    "NOT_ACKNOWLEDGED",
    "Refusal",
    "SipAccount",
    "TrunkDestination",
    "UserDestination",
]
