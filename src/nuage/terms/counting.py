"""Counting and the monthly summary (CNT-1, CNT-2, CNT-3).

CNT-1: counted items are recorded periodically; at month end a ``MonthlySummary``
is frozen. Its canonical serialisation is hashed with SHA-256 together with the
previous month's hash, so the summaries of an account form a chain: editing any
month breaks its link and every later one. ``verify_chain`` finds the first
broken link. Storage keeps summaries append-only.

CNT-2: increases apply at the month-end count without notice: the summary holds
the *last* count of each item in the month (``month_end_counts``).

CNT-3: billed users may fall by at most 10% per quarter (``billed_users``).

Entry points: ``month_end_counts(records)``, ``freeze_monthly_summary(...)``,
``verify_chain(summaries)``, ``billed_users(counted, quarter_base)``,
``quarter_base_month(month)``. (CNT-4, the declaration audit, lives in
``terms.audit``.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from nuage.errors import Conflict, InvalidInput
from nuage.shared.clock import require_aware
from nuage.shared.month import Month

GENESIS_HASH = "0" * 64
_SUMMARY_FORMAT = "cnt1-v1"  # changing the canonical form needs a new format tag


class ItemKind(StrEnum):
    """CNT-1: the counted items the commercial terms bill (CFG-1..11, BIL-8)."""

    BILLABLE_USERS = "billable_users"
    NATIONAL_NUMBERS = "national_numbers"
    INTERNATIONAL_NUMBERS = "international_numbers"
    VIRTUAL_FAXES = "virtual_faxes"
    CONFERENCE_ROOMS = "conference_rooms"
    WEB_CHANNELS = "web_channels"
    TRAFFIC_PACKS = "traffic_packs"
    RECORDING_GB = "recording_gb"
    UCAAS_LICENCES = "ucaas_licences"
    TRUNK_CHANNELS = "trunk_channels"  # SIP-3: channels subscribed on SIP trunks


@dataclass(frozen=True)
class CountRecord:
    """CNT-1: one periodic count of one item of an account."""

    account_id: str
    counted_at: datetime
    kind: ItemKind
    quantity: Decimal


def month_end_counts(records: Iterable[CountRecord], month: Month) -> dict[ItemKind, Decimal]:
    """CNT-2: the month-end count of each item: the last record of the month, increases included."""
    # CNT-2 decision: the last count of the month is authoritative (not the maximum nor an
    # average): an increase counts in full from that month, a decrease too (CNT-3 bounds users).
    latest: dict[ItemKind, CountRecord] = {}
    for record in records:
        if Month.at(record.counted_at) != month:
            continue
        current = latest.get(record.kind)
        if current is None or record.counted_at >= current.counted_at:
            latest[record.kind] = record
    return {kind: record.quantity for kind, record in latest.items()}


@dataclass(frozen=True)
class MonthlySummary:
    """CNT-1: the frozen month-end count of an account, chained to the previous month by hash."""

    account_id: str
    month: Month
    items: tuple[tuple[ItemKind, Decimal], ...]  # sorted by kind
    frozen_at: datetime
    previous_hash: str
    hash: str

    def quantity(self, kind: ItemKind) -> Decimal:
        """CNT-1: the counted quantity of ``kind`` (0 when not counted)."""
        for item_kind, quantity in self.items:
            if item_kind is kind:
                return quantity
        return Decimal(0)

    @property
    def counts(self) -> dict[ItemKind, Decimal]:
        """CNT-1: the counted items as a dict."""
        return dict(self.items)

    def canonical_bytes(self) -> bytes:
        """CNT-1: the canonical serialisation that is hashed (sorted keys, decimals as strings)."""
        return canonical_summary_bytes(self.account_id, self.month, self.items, self.frozen_at)

    def source_key(self, kind: ItemKind) -> str:
        """BIL-10: how an invoice line cites one row of this summary."""
        return f"summary:{self.account_id}:{self.month}:{kind.value}:{self.hash[:16]}"


def canonical_summary_bytes(
    account_id: str, month: Month, items: Sequence[tuple[ItemKind, Decimal]], frozen_at: datetime
) -> bytes:
    """CNT-1: canonical JSON of a summary's content, the input of its hash."""
    document = {
        "format": _SUMMARY_FORMAT,
        "account_id": account_id,
        "month": str(month),
        "items": {kind.value: str(quantity.normalize()) for kind, quantity in items},
        "frozen_at": require_aware(frozen_at).isoformat(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def summary_hash(previous_hash: str, content: bytes) -> str:
    """CNT-1: SHA-256 of the previous hash and this summary's canonical bytes."""
    return hashlib.sha256(previous_hash.encode("ascii") + b"\n" + content).hexdigest()


def freeze_monthly_summary(
    account_id: str,
    month: Month,
    counts: Mapping[ItemKind, Decimal],
    frozen_at: datetime,
    previous: MonthlySummary | None,
) -> MonthlySummary:
    """CNT-1: freeze the month-end count, chained to the previous month's summary."""
    for kind, quantity in counts.items():
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity < 0:
            raise InvalidInput(kind.value, f"Counted quantity must be a Decimal ≥ 0, got {quantity!r}")
    if previous is not None:
        if previous.account_id != account_id:
            raise Conflict("CNT-1: the previous summary belongs to another account")
        if previous.month.next() != month:
            raise Conflict(
                f"CNT-1: the summary after {previous.month} is {previous.month.next()}, not {month}"
            )
    items = tuple(sorted(counts.items(), key=lambda item: item[0].value))
    previous_hash = GENESIS_HASH if previous is None else previous.hash
    digest = summary_hash(previous_hash, canonical_summary_bytes(account_id, month, items, frozen_at))
    return MonthlySummary(account_id, month, items, frozen_at, previous_hash, digest)


@dataclass(frozen=True)
class ChainBreak:
    """CNT-1: the first summary whose link does not hold, and why."""

    index: int
    month: Month
    reason: str


def verify_chain(summaries: Sequence[MonthlySummary]) -> ChainBreak | None:
    """CNT-1: check an account's summaries, oldest first; return the first broken link or None."""
    expected_previous = GENESIS_HASH
    for index, summary in enumerate(summaries):
        if index > 0 and summaries[index - 1].month.next() != summary.month:
            return ChainBreak(index, summary.month, "a month is missing or out of order")
        if summary.previous_hash != expected_previous:
            return ChainBreak(index, summary.month, "previous_hash does not match the previous summary")
        if summary_hash(summary.previous_hash, summary.canonical_bytes()) != summary.hash:
            return ChainBreak(index, summary.month, "content does not match its hash")
        expected_previous = summary.hash
    return None


@dataclass(frozen=True)
class BilledUsers:
    """CNT-3: the users billed for a month, with the count and the floor that decided it."""

    billed: int
    counted: int
    floor: int | None

    @property
    def floor_applied(self) -> bool:
        """CNT-3: whether the quarterly floor raised the billed users above the count."""
        return self.billed > self.counted


def quarter_base_month(month: Month) -> Month:
    """CNT-3: the month whose billed users set the floor for ``month``'s quarter."""
    # CNT-3 decision: "billed users at the start of the quarter" are those billed for the
    # month just before the quarter's first month (the level in force as the quarter opens),
    # so that every quarter, including its first month, falls by at most 10%.
    return month.quarter_first_month.previous()


def billed_users(counted: int, quarter_base_billed: int | None) -> BilledUsers:
    """CNT-3: billed users = max(counted, ceil(0.9 × billed users at the start of the quarter))."""
    if counted < 0:
        raise InvalidInput("counted", "Counted users must not be negative")
    if quarter_base_billed is None:
        return BilledUsers(counted, counted, None)
    # CNT-3 decision: floor is ceil(0.9 × billed users at quarter start), exact integer arithmetic.
    floor = -(-quarter_base_billed * 9 // 10)
    return BilledUsers(max(counted, floor), counted, floor)
