"""Declaration audit (CNT-4): the users the terms require, against the users declared.

The terms count one user per individual (CFG-1), none for no-service users (CFG-2),
one per phone of a communal room used by non-users (CFG-4), and a user behind every device
that is not of a user-free kind (CFG-3).

CNT-4 decision: a person uses one desk phone, two at most (an office and a second desk); a user
holding more desk phones than that is very likely lending them to people who are not declared,
so each desk phone beyond ``MAX_DESK_PHONES_PER_USER`` counts one more required user (softphones
are not counted: a person has several). The audit shows each such phone as a finding.

CNT-4 decision on registrations ("what registers on the SIP side"): one device's credentials are
one phone. When the SIP bindings show the same credentials registered from more phones at once
(distinct contacts), each phone beyond the first is used by nobody declared: one finding each.

CNT-4 regularisation: each finding is one missing user, identified by its stable ``key``; the
operator may invoice it per user and month, retroactively to the contract start
(``regularisation``), once per finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from nuage.directory.model import CommunalRoom, Device, DeviceKind, RoomUse, User

#: CNT-4 decision: desk phones one person uses; each one beyond this is one more required user
MAX_DESK_PHONES_PER_USER = 2

#: CNT-4: the kind of pending charge a regularisation line waits as, until the next invoice
REGULARISATION_CHARGE = "regularisation"


class ShortfallKind(StrEnum):
    """Why the configuration needs a user that was not declared."""

    COMMUNAL_PHONE = "communal_phone"  # CFG-4: a phone in a room used by non-users
    UNLINKED_DEVICE = "unlinked_device"  # CFG-3: a device for people, linked to nobody
    NO_SERVICE_WITH_DEVICE = "no_service_with_device"  # CFG-2: a no-service user holds a device
    REGISTERED_UNDECLARED = "registered_undeclared"  # seen registering on SIP, not in the directory
    EXCESS_DESK_PHONES = "excess_desk_phones"  # CFG-1: more desk phones than one person uses


@dataclass(frozen=True)
class Shortfall:
    """CNT-4: one user the terms require that the declaration lacks, and why."""

    kind: ShortfallKind
    rule_id: str
    device_id: str | None
    reason: str
    subject: str | None = None  # what the finding is about when not a device (a SIP username)

    @property
    def key(self) -> str:
        """CNT-4: the finding's stable identity, cited as the evidence of its regularisation."""
        return f"{self.kind.value}:{self.device_id or self.subject or '-'}"


@dataclass(frozen=True)
class DeclarationAudit:
    """CNT-4: required vs declared users, with each shortfall explained."""

    declared_users: int
    required_users: int
    shortfalls: tuple[Shortfall, ...]

    @property
    def under_declared(self) -> bool:
        """True when the configuration requires more users than were declared."""
        return self.required_users > self.declared_users

    @property
    def missing_users(self) -> int:
        """How many users are missing from the declaration."""
        return max(0, self.required_users - self.declared_users)


def audit_declaration(
    users: Iterable[User],
    devices: Iterable[Device],
    rooms: Iterable[CommunalRoom],
    registered_usernames: Iterable[str] = (),
    max_desk_phones_per_user: int = MAX_DESK_PHONES_PER_USER,
    registered_phones: Mapping[str, int] | None = None,
) -> DeclarationAudit:
    """CNT-4: compute the users the terms require from the configuration and flag each shortfall.

    ``registered_usernames`` are the SIP usernames seen registering; ``registered_phones`` how many
    phones (distinct contacts) each username is registered from right now.
    """
    user_list = list(users)
    device_list = list(devices)
    users_by_id: Mapping[str, User] = {u.id: u for u in user_list}
    room_use = {r.id: r.use for r in rooms}
    declared = sum(1 for u in user_list if u.billable)
    shortfalls: list[Shortfall] = []
    desk_phones: dict[str, int] = {}
    for device in device_list:
        owner = users_by_id.get(device.user_id) if device.user_id else None
        if owner is not None and owner.no_service:
            shortfalls.append(
                Shortfall(
                    ShortfallKind.NO_SERVICE_WITH_DEVICE,
                    "CFG-2",
                    device.id,
                    f"{device.label} belongs to {owner.name}, a no-service user, who may own no device",
                )
            )
            continue
        if owner is not None:
            # CFG-1: the owner is declared once, whatever the number of devices, unless it holds
            # more desk phones than one person uses (CNT-4 decision above)
            if device.kind is DeviceKind.DESK_PHONE:
                desk_phones[owner.id] = held = desk_phones.get(owner.id, 0) + 1
                if held > max_desk_phones_per_user:
                    shortfalls.append(
                        Shortfall(
                            ShortfallKind.EXCESS_DESK_PHONES,
                            "CFG-1",
                            device.id,
                            f"{device.label} is desk phone {held} of {owner.name}: one person uses at "
                            f"most {max_desk_phones_per_user}, so someone else uses this one",
                        )
                    )
            continue
        if device.room_id is not None and room_use.get(device.room_id) is RoomUse.USERS:
            continue  # CFG-4: a room used by users counts 0
        if device.room_id is not None and room_use.get(device.room_id) is RoomUse.NON_USERS:
            shortfalls.append(
                Shortfall(
                    ShortfallKind.COMMUNAL_PHONE,
                    "CFG-4",
                    device.id,
                    f"{device.label} is a phone of a communal room used by non-users: 1 phone = 1 user",
                )
            )
            continue
        if device.hot_desk:
            continue  # CFG-13: users log in on it; it is their device while logged in
        if device.needs_user:
            shortfalls.append(
                Shortfall(
                    ShortfallKind.UNLINKED_DEVICE,
                    "CFG-3",
                    device.id,
                    f"{device.label} ({device.kind.value}) is used by a person but linked to no user",
                )
            )
    known = {d.sip_username for d in device_list if d.sip_username}
    for username in sorted(set(registered_usernames) - known):
        shortfalls.append(
            Shortfall(
                ShortfallKind.REGISTERED_UNDECLARED,
                "CFG-1",
                None,
                f"{username} registers on the SIP side but is not declared",
                username,
            )
        )
    by_username = {d.sip_username: d for d in device_list if d.sip_username}
    for username, phones in sorted((registered_phones or {}).items()):
        registered = by_username.get(username)
        if registered is None:
            continue
        for extra in range(2, phones + 1):
            shortfalls.append(
                Shortfall(
                    ShortfallKind.REGISTERED_UNDECLARED,
                    "CFG-1",
                    None,
                    f"{registered.label} ({username}) is registered from {phones} phones at once: "
                    f"phone {extra} is used by nobody declared",
                    f"{username}#{extra}",
                )
            )
    # CFG-2: a no-service user holding a device is a wrong declaration, not one more user
    extra = sum(1 for s in shortfalls if s.kind is not ShortfallKind.NO_SERVICE_WITH_DEVICE)
    return DeclarationAudit(declared, declared + extra, tuple(shortfalls))


@dataclass(frozen=True)
class Regularisation:
    """CNT-4: what fraudulent under-declaration costs, retroactively to the contract start."""

    missing_users: int
    months: int
    unit_price: Decimal
    amount: Decimal


def regularisation(missing_users: int, months: int, unit_price_per_user_month: Decimal) -> Regularisation:
    """CNT-4: the missing users invoiced per user and month since the contract start."""
    if missing_users < 0 or months < 0:
        raise ValueError("missing users and months cannot be negative")
    amount = Decimal(missing_users) * Decimal(months) * unit_price_per_user_month
    return Regularisation(missing_users, months, unit_price_per_user_month, amount)
