"""Emergency readiness (EMG-1..3), the EMG-2 choice of emergency caller ID, the emergency numbers (EMG-4).

The readiness check and the SIP plane's dial plan (``nuage.directory.dialplan``) choose the emergency
caller ID by the same functions here.

EMG-2 decision on "the caller's actual location": a device's ``site`` (where it stands) and a
trunk's ``site`` (the address the customer declares for its PBX's phones) are postal addresses in
one line. The caller ID they would present matches the place when its block's street and postal
code both appear in that line (case, accents and punctuation aside); otherwise the readiness check
flags the item as presenting a wrong address. An item with no declared site is not compared.

EMG-4 (emergency calls always go through) is enforced by the SIP data plane's call policy; this
module says which numbers are emergency numbers and checks the operator's additions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from nuage.directory.model import Device, NumberBlock, PhoneNumber, Trunk, User
from nuage.errors import InvalidInput, TermViolation

N = TypeVar("N")

#: EMG-4: the Belgian emergency numbers, built in: they can be neither added nor removed.
BUILT_IN_EMERGENCY_NUMBERS: Mapping[str, str] = {
    "112": "European emergency number",
    "100": "Ambulance and fire brigade",
    "101": "Police",
}

#: EMG-4: they always reach the emergency services, so nothing in an account may shadow them (nor
#: the short numbers the operator adds to them, in the ``emergency_numbers`` table).
EMERGENCY_NUMBERS = frozenset(BUILT_IN_EMERGENCY_NUMBERS)


def emergency_numbers(listed: Iterable[str] = ()) -> frozenset[str]:
    """EMG-4: the one set of emergency numbers: 112, 100, 101 and the operator's short numbers."""
    return EMERGENCY_NUMBERS | frozenset(listed)


#: Belgian short service numbers: 1XX, 1XXX and the harmonised European 116XXX (the numbering plan
#: keeps the leading 1 for them; a subscriber number starts with 0 and is never one)
_SHORT_NUMBER = re.compile(r"^1[0-9]{2,5}$")


def check_emergency_number(number: str) -> str:
    """EMG-4: an emergency number the operator adds is a short service number, not a built-in one.

    Short service numbers are 3 to 6 digits starting with 1 (1733, 1813, 116000); a subscriber
    number such as 0475123456 is refused: listing it would let its calls through every limit.
    """
    cleaned = number.strip()
    if not _SHORT_NUMBER.match(cleaned):
        raise InvalidInput(
            "number",
            f"{cleaned[:20]!r} is not a short service number: an emergency number is 3 to 6 digits "
            "starting with 1, such as 1733 or 116000 (EMG-4)",
            rule_id="EMG-4",
        )
    refuse_built_in_change(cleaned, "added")
    return cleaned


def refuse_built_in_change(number: str, action: str) -> None:
    """EMG-4: 112, 100 and 101 are always emergency numbers; they are not the operator's to change."""
    if number in EMERGENCY_NUMBERS:
        raise TermViolation(
            "EMG-4",
            f"{number} ({BUILT_IN_EMERGENCY_NUMBERS[number]}) is a built-in emergency number "
            f"and cannot be {action}: it always reaches the emergency services",
            number=number,
        )


class FindingKind(StrEnum):
    """What the readiness check found."""

    BLOCK_WITHOUT_ADDRESS = "block_without_address"  # EMG-1
    NO_EMERGENCY_CALLER_ID = "no_emergency_caller_id"  # EMG-2
    CALLER_ID_WITHOUT_ADDRESS = "caller_id_without_address"  # EMG-2
    ADDRESS_MISMATCH = "address_mismatch"  # EMG-2: the block's address is not where the item stands
    NOMADIC_DEVICE = "nomadic_device"  # EMG-3
    HOT_DESK_PHONE = "hot_desk_phone"  # EMG-3


_RULE_OF = {
    FindingKind.BLOCK_WITHOUT_ADDRESS: "EMG-1",
    FindingKind.NO_EMERGENCY_CALLER_ID: "EMG-2",
    FindingKind.CALLER_ID_WITHOUT_ADDRESS: "EMG-2",
    FindingKind.ADDRESS_MISMATCH: "EMG-2",
    FindingKind.NOMADIC_DEVICE: "EMG-3",
    FindingKind.HOT_DESK_PHONE: "EMG-3",
}


@dataclass(frozen=True)
class Finding:
    """One emergency-readiness finding about one item of the account."""

    kind: FindingKind
    item_kind: str  # "number_block", "device", "user", "trunk"
    item_id: str
    message: str

    @property
    def rule_id(self) -> str:
        """The EMG rule the finding cites."""
        return _RULE_OF[self.kind]

    @property
    def blocking(self) -> bool:
        """EMG-1/EMG-2 findings are configuration errors; EMG-3 ones are warnings to show."""
        return self.rule_id != "EMG-3"


@dataclass(frozen=True)
class EmergencyReadiness:
    """EMG-1..3: every finding for an account; ``ready`` when none of them is blocking."""

    findings: tuple[Finding, ...]

    @property
    def ready(self) -> bool:
        """True when no EMG-1/EMG-2 finding remains."""
        return not any(f.blocking for f in self.findings)


@dataclass(frozen=True)
class NumberLookup(Generic[N]):
    """The numbers EMG-2 chooses from, by key; ``N`` is a ``PhoneNumber`` (the readiness check) or
    an E.164 string (the SIP plane's dial plan), so both choose by the one rule below."""

    by_id: Mapping[str, N] = field(default_factory=dict)
    of_user: Mapping[str, N] = field(default_factory=dict)  # the first number assigned to each user
    of_device: Mapping[str, N] = field(default_factory=dict)
    of_trunk: Mapping[str, N] = field(default_factory=dict)

    @staticmethod
    def of(numbers: Iterable[PhoneNumber]) -> NumberLookup[PhoneNumber]:
        """The lookup of these numbers (in their order: the first assigned to a line is its own)."""
        by_id: dict[str, PhoneNumber] = {}
        of_user: dict[str, PhoneNumber] = {}
        of_device: dict[str, PhoneNumber] = {}
        of_trunk: dict[str, PhoneNumber] = {}
        for number in numbers:
            by_id[number.id] = number
            if number.user_id:
                of_user.setdefault(number.user_id, number)
            if number.device_id:
                of_device.setdefault(number.device_id, number)
            if number.trunk_id:
                of_trunk.setdefault(number.trunk_id, number)
        return NumberLookup(by_id, of_user, of_device, of_trunk)


def emergency_number_for_device(device: Device, owner: User | None, numbers: NumberLookup[N]) -> N | None:
    """EMG-2: the caller ID a device presents to emergency services.

    The device's own setting first (the location follows the phone, EMG-3 for hot-desking),
    then a number assigned to the device, then its owner's emergency number or assigned number.
    """
    if device.emergency_number_id and device.emergency_number_id in numbers.by_id:
        return numbers.by_id[device.emergency_number_id]
    assigned = numbers.of_device.get(device.id)
    if assigned is not None:
        return assigned
    if owner is not None and not device.hot_desk:
        return emergency_number_for_user(owner, numbers)
    return None


def emergency_number_for_user(user: User, numbers: NumberLookup[N]) -> N | None:
    """EMG-2: the user's emergency caller ID, else the first number assigned to the user."""
    if user.emergency_number_id and user.emergency_number_id in numbers.by_id:
        return numbers.by_id[user.emergency_number_id]
    return numbers.of_user.get(user.id)


def emergency_number_for_trunk(trunk: Trunk, numbers: NumberLookup[N]) -> N | None:
    """EMG-2: the trunk's configured emergency number, else the first number routed to it."""
    if trunk.emergency_number_id and trunk.emergency_number_id in numbers.by_id:
        return numbers.by_id[trunk.emergency_number_id]
    return numbers.of_trunk.get(trunk.id)


def _words(text: str) -> str:
    """Lower case, no accents, words separated by one space (for comparing addresses)."""
    bare = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in bare if not unicodedata.combining(ch))
    return " " + " ".join(re.findall(r"[0-9a-z]+", bare)) + " "


def site_matches_block(site: str, block: NumberBlock) -> bool:
    """EMG-2: whether a declared site is at the block's postal address (module docstring)."""
    words = _words(site)
    return _words(block.street or "") in words and _words(block.postal_code or "") in words


def check_emergency_readiness(
    blocks: Iterable[NumberBlock],
    numbers: Iterable[PhoneNumber],
    users: Iterable[User],
    devices: Iterable[Device],
    trunks: Iterable[Trunk],
) -> EmergencyReadiness:
    """EMG-1..3: flag blocks without address, items without a located caller ID, nomadic devices."""
    block_list = list(blocks)
    lookup = NumberLookup.of(numbers)
    users_by_id: Mapping[str, User] = {u.id: u for u in users}
    blocks_by_id = {b.id: b for b in block_list}
    findings: list[Finding] = []
    for block in block_list:
        if not block.has_address:
            findings.append(
                Finding(
                    FindingKind.BLOCK_WITHOUT_ADDRESS,
                    "number_block",
                    block.id,
                    f"Number block from {block.first_e164} has no complete postal address",
                )
            )

    def check_caller_id(
        item_kind: str, item_id: str, label: str, number: PhoneNumber | None, site: str | None = None
    ) -> None:
        if number is None:
            findings.append(
                Finding(
                    FindingKind.NO_EMERGENCY_CALLER_ID,
                    item_kind,
                    item_id,
                    f"{label} has no emergency caller ID",
                )
            )
            return
        block = blocks_by_id.get(number.block_id) if number.block_id else None
        if block is None or not block.has_address:
            findings.append(
                Finding(
                    FindingKind.CALLER_ID_WITHOUT_ADDRESS,
                    item_kind,
                    item_id,
                    f"{label} presents {number.e164} to emergency services, whose block has no address",
                )
            )
            return
        if site and not site_matches_block(site, block):
            findings.append(
                Finding(
                    FindingKind.ADDRESS_MISMATCH,
                    item_kind,
                    item_id,
                    f"{label} stands at {site} but presents {number.e164} to emergency services, "
                    f"whose block is at {block.address_text}",
                )
            )

    for user in users_by_id.values():
        if user.billable:
            check_caller_id("user", user.id, f"User {user.name}", emergency_number_for_user(user, lookup))
    for device in devices:
        owner = users_by_id.get(device.user_id) if device.user_id else None
        number = emergency_number_for_device(device, owner, lookup)
        check_caller_id("device", device.id, f"Device {device.label}", number, device.site)
        if device.nomadic:
            findings.append(
                Finding(
                    FindingKind.NOMADIC_DEVICE,
                    "device",
                    device.id,
                    f"{device.label} is a softphone: emergency services cannot locate it reliably",
                )
            )
        if device.hot_desk:
            findings.append(
                Finding(
                    FindingKind.HOT_DESK_PHONE,
                    "device",
                    device.id,
                    f"{device.label} is hot-desked: the location is the phone's, not the user's",
                )
            )
    for trunk in trunks:
        number = emergency_number_for_trunk(trunk, lookup)
        check_caller_id("trunk", trunk.id, f"Trunk {trunk.name}", number, trunk.site)
    return EmergencyReadiness(tuple(findings))
