"""What the call policy knows of each account, computed from the domain in one go.

The snapshot is built from plain domain objects (parties, users, traffic packs, numbers,
devices), so that it is testable without storage; ``nuage.storage.sql.policy_adapters`` reads
them and rebuilds it every few seconds.

An account's terms are computed for a day (``on``), but few of them depend on the day: only a
pack fixing a channel limit (CAP-2) that starts or ends, or a price list whose CAP-1 reading starts
or ends. ``review_on`` says, per account, the first later day its terms may differ; on a new day
only the accounts due are computed again (``due_on``), not the whole snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from nuage.directory.model import Device, PhoneNumber, TrafficPack, Trunk, User
from nuage.policy.autodialer import AutoDialerBlock
from nuage.rating.tariffs import TariffBook
from nuage.tenancy.model import CapacityReading, Party, PartyKind, PartyStatus
from nuage.terms.capacity import account_capacity


@dataclass(frozen=True, slots=True)
class AccountTerms:
    """One customer account as the call policy sees it."""

    account_id: str
    status: PartyStatus
    channels: int  # CAP-1/CAP-2 capacity
    capacity_rule: str  # "CAP-1" (formula) or "CAP-2" (pack limit)
    numbers: frozenset[str] = frozenset()  # E.164 numbers the account owns (SIP-2)
    main_number: str | None = None
    device_usernames: frozenset[str] = frozenset()  # SIP usernames of its devices (SIP-2)


@dataclass(frozen=True, slots=True)
class TrunkTerms:
    """SIP-3: a customer's PBX trunk as the call policy sees it."""

    trunk_id: str
    account_id: str
    channel_limit: int | None = None  # CAP-3: the trunk's own cap, on top of the account's capacity


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    """Every customer account by id; ``on`` is the day capacities were computed for.

    ``spend_caps`` (SIP-5) are the operator's daily outbound spending caps (EUR excl. VAT per
    Brussels day), ``tariffs`` the customers' retail tariff book that prices outbound calls
    against them (None: no tariff stored), ``autodialer_blocks`` the SIP-4 blocks stored (None:
    the source does not store blocks, nothing to synchronise).
    """

    accounts: dict[str, AccountTerms] = field(default_factory=dict)
    on: date | None = None
    trunks: dict[str, TrunkTerms] = field(default_factory=dict)
    spend_caps: dict[str, Decimal] = field(default_factory=dict)
    tariffs: TariffBook | None = None
    autodialer_blocks: list[AutoDialerBlock] | None = None
    review_on: dict[str, date] = field(default_factory=dict)  # account -> first day it may change

    def due_on(self, day: date) -> frozenset[str]:
        """The accounts whose terms may differ on ``day`` from those computed for ``on``."""
        return frozenset(account for account, review in self.review_on.items() if review <= day)


def pack_review(packs: Iterable[TrafficPack], on: date) -> date | None:
    """CAP-2: the first day after ``on`` a pack fixing a channel limit starts or ends (None: none)."""
    days = []
    for pack in packs:
        if pack.channel_limit is None:
            continue
        if pack.valid_from > on:
            days.append(pack.valid_from)
        if pack.valid_until is not None and pack.valid_until >= on:
            days.append(pack.valid_until + timedelta(days=1))
    return min(days, default=None)


def build_snapshot(
    parties: Iterable[Party],
    users: Iterable[User],
    packs: Iterable[TrafficPack],
    numbers: Iterable[PhoneNumber],
    devices: Iterable[Device],
    on: date,
    *,
    trunks: Iterable[Trunk] = (),
    spend_caps: Mapping[str, Decimal] | None = None,
    tariffs: TariffBook | None = None,
    autodialer_blocks: list[AutoDialerBlock] | None = None,
    capacity_readings: Mapping[str, CapacityReading] | None = None,
    readings_until: Mapping[str, date] | None = None,
) -> PolicySnapshot:
    """The terms of every customer account on ``on`` (capacity from ``account_capacity``, with the
    CAP-1 reading of the customer's price plan from ``capacity_readings``, else the party's own);
    ``readings_until``: per account, the first later day its plan's reading may change."""
    readings = capacity_readings or {}
    reading_review = readings_until or {}
    review_on: dict[str, date] = {}
    users_of: dict[str, list[User]] = {}
    for user in users:
        users_of.setdefault(user.account_id, []).append(user)
    trunk_list = list(trunks)
    trunks_of: dict[str, list[Trunk]] = {}
    for trunk in trunk_list:
        trunks_of.setdefault(trunk.account_id, []).append(trunk)
    packs_of: dict[str, list[TrafficPack]] = {}
    for pack in packs:
        packs_of.setdefault(pack.account_id, []).append(pack)
    numbers_of: dict[str, set[str]] = {}
    main_of: dict[str, str] = {}
    for number in numbers:
        numbers_of.setdefault(number.account_id, set()).add(number.e164)
        if number.main:
            main_of[number.account_id] = number.e164
    usernames_of: dict[str, set[str]] = {}
    for device in devices:
        if device.sip_username:
            usernames_of.setdefault(device.account_id, set()).add(device.sip_username)
    accounts: dict[str, AccountTerms] = {}
    for party in parties:
        if party.kind is not PartyKind.CUSTOMER:
            continue
        capacity = account_capacity(
            users_of.get(party.id, ()),
            packs_of.get(party.id, ()),
            readings.get(party.id, party.capacity_reading),
            on,
            trunks_of.get(party.id, ()),  # SIP-3: a trunk's channels are the account's too
        )
        accounts[party.id] = AccountTerms(
            account_id=party.id,
            status=party.status,
            channels=capacity.channels,
            capacity_rule=capacity.rule_id,
            numbers=frozenset(numbers_of.get(party.id, ())),
            main_number=main_of.get(party.id),
            device_usernames=frozenset(usernames_of.get(party.id, ())),
        )
        review = [
            day for day in (pack_review(packs_of.get(party.id, ()), on), reading_review.get(party.id)) if day
        ]
        if review:
            review_on[party.id] = min(review)
    return PolicySnapshot(
        accounts=accounts,
        on=on,
        trunks={t.id: TrunkTerms(t.id, t.account_id, t.channel_limit) for t in trunk_list},
        spend_caps={a: cap for a, cap in (spend_caps or {}).items() if a in accounts},
        tariffs=tariffs,
        autodialer_blocks=autodialer_blocks,
        review_on=review_on,
    )
