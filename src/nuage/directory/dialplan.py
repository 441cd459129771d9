"""The SIP plane's rules on the directory: where a dialled string leads and which number a line shows.

Pure and built from domain objects (users, devices, trunks, numbers, the listed emergency numbers):
storage loads them, the SIP plane's adapter turns the answers into its own destinations. It owns the
dial plan's order (EMG-4 emergency numbers first, then the caller's extensions and SIP usernames,
then platform numbers, else the carrier), the caller-ID chain (SIP-2) and the choice of the
emergency caller ID (EMG-2, EMG-3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nuage.directory.model import Device, PhoneNumber, Trunk, User
from nuage.shared.phone import dialled_to_e164
from nuage.terms.emergency import (
    EMERGENCY_NUMBERS,
    NumberLookup,
    emergency_number_for_device,
    emergency_number_for_trunk,
    emergency_numbers,
)


@dataclass(frozen=True, slots=True)
class NumberRoute:
    """CFG-6: what a platform number is assigned to (at most one of user, device, trunk, ring group)."""

    account_id: str
    user_id: str | None
    device_id: str | None
    trunk_id: str | None
    ring_group_id: str | None = None


@dataclass(frozen=True)
class NumberIndex:
    """The platform's numbers as the caller-ID chain and the dial plan look them up."""

    routes: dict[str, NumberRoute] = field(default_factory=dict)  # by E.164
    lookup: NumberLookup[str] = field(default_factory=NumberLookup)  # E.164s by number id and by line
    main: dict[str, str] = field(default_factory=dict)  # the main number of each account

    @classmethod
    def build(cls, numbers: Iterable[PhoneNumber]) -> NumberIndex:
        """Index the numbers (the first number assigned to a line is the one it presents)."""
        routes: dict[str, NumberRoute] = {}
        by_id: dict[str, str] = {}
        of_user: dict[str, str] = {}
        of_device: dict[str, str] = {}
        of_trunk: dict[str, str] = {}
        main: dict[str, str] = {}
        for number in numbers:
            routes[number.e164] = NumberRoute(
                number.account_id, number.user_id, number.device_id, number.trunk_id, number.ring_group_id
            )
            by_id[number.id] = number.e164
            if number.user_id:
                of_user.setdefault(number.user_id, number.e164)
            if number.device_id:
                of_device.setdefault(number.device_id, number.e164)
            if number.trunk_id:
                of_trunk.setdefault(number.trunk_id, number.e164)
            if number.main:
                main[number.account_id] = number.e164
        return cls(routes, NumberLookup(by_id, of_user, of_device, of_trunk), main)

    def user_caller_id(self, user: User) -> str | None:
        """SIP-2: a user presents their own number, else the account's main number."""
        return self.lookup.of_user.get(user.id) or self.main.get(user.account_id)

    def device_caller_id(self, device: Device) -> str | None:
        """SIP-2: a device presents its own number, else its user's, else the account's main number."""
        return (
            self.lookup.of_device.get(device.id)
            or (self.lookup.of_user.get(device.user_id) if device.user_id else None)
            or self.main.get(device.account_id)
        )

    def trunk_caller_id(self, trunk: Trunk) -> str | None:
        """SIP-2: a PBX presents its trunk's number, else the account's main number."""
        return self.lookup.of_trunk.get(trunk.id) or self.main.get(trunk.account_id)

    def device_emergency_caller_id(self, device: Device, owner: User | None) -> str | None:
        """EMG-2: what a phone presents to the emergency services: the choice of
        ``terms.emergency`` (EMG-3: a shared phone's, never its logged-in user's), else its caller ID."""
        return emergency_number_for_device(device, owner, self.lookup) or self.device_caller_id(device)

    def trunk_emergency_caller_id(self, trunk: Trunk) -> str | None:
        """EMG-2: a PBX's emergency number by ``terms.emergency``'s choice, else its caller ID."""
        return emergency_number_for_trunk(trunk, self.lookup) or self.trunk_caller_id(trunk)


# --- where a dialled string leads ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToEmergency:
    """EMG-4: an emergency number, sent as dialled to the carrier."""

    number: str


@dataclass(frozen=True, slots=True)
class ToUser:
    """An extension of the caller's account: the user's phones ring."""

    user_id: str


@dataclass(frozen=True, slots=True)
class ToDevice:
    """The SIP username of a device of the caller's account."""

    device_id: str
    account_id: str


@dataclass(frozen=True, slots=True)
class ToNumber:
    """A number of the platform: where it is assigned (to nothing when unassigned)."""

    route: NumberRoute


@dataclass(frozen=True, slots=True)
class ToCarrier:
    """Any other number, in E.164: out through the carrier."""

    e164: str


Route = ToEmergency | ToUser | ToDevice | ToNumber | ToCarrier


@dataclass(frozen=True)
class DialPlan:
    """The dial plan of the whole platform; each call looks it up within the caller's account."""

    region: str = "BE"
    emergency: frozenset[str] = EMERGENCY_NUMBERS  # EMG-4: built in, plus the operator's
    extensions: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (account, ext) -> user
    device_usernames: Mapping[tuple[str, str], str] = field(default_factory=dict)  # -> device
    numbers: NumberIndex = field(default_factory=NumberIndex)

    @classmethod
    def build(
        cls,
        users: Iterable[User],
        devices: Iterable[Device],
        numbers: NumberIndex,
        listed_emergency: Iterable[str],
        *,
        region: str,
    ) -> DialPlan:
        """The plan of these items; CFG-2: a no-service user has no extension to dial."""
        return cls(
            region=region,
            emergency=emergency_numbers(listed_emergency),
            extensions={
                (user.account_id, user.extension): user.id
                for user in users
                if user.extension and not user.no_service
            },
            device_usernames={
                (device.account_id, device.sip_username): device.id
                for device in devices
                if device.sip_username
            },
            numbers=numbers,
        )

    def route(self, account_id: str, dialled: str) -> Route | None:
        """Where ``dialled`` leads for a caller of ``account_id``; None when it is not a number.

        EMG-4: an emergency number always goes out as dialled, before any extension of the account.
        """
        text = dialled.strip()
        if text in self.emergency:
            return ToEmergency(text)
        user_id = self.extensions.get((account_id, text))
        if user_id is not None:
            return ToUser(user_id)
        device_id = self.device_usernames.get((account_id, text))
        if device_id is not None:
            return ToDevice(device_id, account_id)
        e164 = dialled_to_e164(text, self.region)
        if e164 is None:
            return None
        route = self.numbers.routes.get(e164)
        return ToNumber(route) if route is not None else ToCarrier(e164)

    def inbound(self, did: str) -> NumberRoute | None:
        """What a number called from the public network is assigned to, if it is the platform's."""
        e164 = dialled_to_e164(did, self.region)
        return self.numbers.routes.get(e164) if e164 else None
