"""Call records' types and storage port (SIP-1): what a record holds, the checked query, the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from nuage.services.billing.audit_ports import AuditUnitOfWork
from nuage.services.ports import UnitOfWork
from nuage.services.security.ports import SecurityUnitOfWork
from nuage.services.support.ports import SupportUnitOfWork


@dataclass(frozen=True)
class RatedPrice:
    """TEN-5: what one rating run priced the call at, and the invoice that carries it, if any."""

    run: str
    amount: Decimal
    charged_seconds: int
    tariff_version: str
    invoice_id: str | None


@dataclass(frozen=True)
class CallRecord:
    """SIP-1: one call attempt as recorded, with the prices the viewer may read."""

    id: str
    call_id: str
    account_id: str | None
    direction: str
    caller: str
    callee: str
    device_id: str | None
    user_id: str | None
    trunk_id: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    billable_seconds: int
    disposition: str  # the outcome: answered, busy, no-ack, refused...
    reason: str | None  # why it ended, when unusual: "interrupted by node failure"...
    sip_status: int
    refusal_rule: str | None
    emergency: bool
    source: str
    prices: tuple[RatedPrice, ...] = ()
    loss_percent: float | None = None  # an anchored call's media quality (issue #15)
    jitter_ms: float | None = None
    mos: float | None = None


@dataclass(frozen=True)
class CallRecordFilter:
    """What to keep; every field optional. ``number`` matches the caller or the callee."""

    account_id: str | None = None
    user_id: str | None = None
    number: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    direction: str | None = None
    disposition: str | None = None
    refused_by: str | None = None


@dataclass(frozen=True)
class CallRecordQuery:
    """A filter checked and scoped: the accounts the viewer may see (``None``: all) and the runs."""

    filter: CallRecordFilter
    account_ids: frozenset[str] | None
    runs: frozenset[str]
    numbers: tuple[str, ...] = ()
    after: tuple[datetime, str] | None = None
    limit: int = 50
    user_device_ids: tuple[str, ...] = field(default=())


class CallRecordStore(Protocol):
    """Reads the stored CDRs and their rated prices."""

    def page(self, query: CallRecordQuery) -> list[CallRecord]:
        """Up to ``query.limit`` records after ``query.after``, oldest first."""
        ...


class CallRecordsUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that reads call records."""

    @property
    def call_records(self) -> CallRecordStore: ...


class PlatformUnitOfWork(
    AuditUnitOfWork, CallRecordsUnitOfWork, SupportUnitOfWork, SecurityUnitOfWork, Protocol
):
    """Every store of the platform in one transaction: what the API's handlers work through."""
