"""The records the support use cases keep, and the store that keeps them (``storage.sql.support_store``).

Each record is a plain dataclass stored as one row; the store hands out one repository per kind.
``SupportCharge`` remembers which billable event already became a pending charge (PAY-2 path), so
billing it again is refused or skipped (BIL-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from nuage.directory.porting import PortRequest
from nuage.resale.ucaas import Activation
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.support.attachments import AttachmentKind
from nuage.support.hardware import CarriagePayer, ReturnState
from nuage.support.interventions import InterventionReason
from nuage.support.status import TicketStatus
from nuage.support.tickets import Category, Criticality, RequesterKind
from nuage.tenancy.model import Language

if TYPE_CHECKING:
    from nuage.services.ports import Repository


class Channel(StrEnum):
    """SUP-1: how a request reached the desk; a call or an e-mail counts once attached to a ticket."""

    PORTAL = "portal"  # the portal or the API
    PHONE = "phone"  # a call to support, attached by the operator
    EMAIL = "email"


class EventKind(StrEnum):
    """SUP-1: what a ticket's history records."""

    OPENED = "opened"
    MESSAGE = "message"
    STATUS = "status"
    INTERVENTION = "intervention"
    RETURN = "return"


@dataclass(frozen=True)
class Ticket:
    """SUP-1/SUP-2: a request, who made it, and when the desk takes it up and must answer."""

    id: str
    account_id: str
    opened_by: str  # the party whose staff opened it: the customer, its partner or the operator
    requester: RequesterKind
    category: Category
    criticality: Criticality
    subject: str
    status: TicketStatus
    channel: Channel
    language: Language  # the customer's: the platform writes to it in this language
    on_duty: bool  # SUP-2: taken by the on-duty staff out of hours
    opened_at: datetime
    starts_at: datetime
    respond_by: datetime
    resolve_by: datetime
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    contact_email: str | None = None  # SUP-1: who the platform writes to (else the account's address)


@dataclass(frozen=True)
class TicketEvent:
    """SUP-1: one entry of a ticket's history: a message, a status change, an intervention, a return."""

    id: str
    ticket_id: str
    seq: int  # its place in the ticket's history, from 1
    at: datetime
    author_id: str  # the party whose staff wrote it ("platform" notices are written by the operator)
    from_desk: bool  # the operator's side (True) or the requester's side
    kind: EventKind
    body: str
    channel: Channel = Channel.PORTAL
    status: TicketStatus | None = None  # the status after this event


@dataclass(frozen=True)
class InterventionRecord:
    """BIL-5: time and materials logged on a ticket; billed unless the terms cover it."""

    id: str
    ticket_id: str
    account_id: str
    reason: InterventionReason
    performed_on: date
    minutes: int
    hourly_rate: Decimal
    materials: tuple[tuple[str, Decimal], ...]
    covered_by: str | None  # why it is not billed (warranty, operator_fault); None: billed
    recorded_at: datetime


@dataclass(frozen=True)
class HardwareItem:
    """HW-1: one device the operator supplied: model, serial, MAC and delivery (the warranty's start)."""

    id: str
    account_id: str
    model: str
    serial: str
    delivered_on: date
    mac: str | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class HardwareReturn:
    """HW-1: a return authorisation (RMA) for a defective item, reported on a ticket."""

    id: str
    item_id: str
    account_id: str
    ticket_id: str
    state: ReturnState
    reported_on: date
    payer: CarriagePayer
    carriage: Decimal  # what the customer pays for the carriage (zero under warranty)
    updated_at: datetime
    replacement_serial: str | None = None


@dataclass(frozen=True)
class TicketAttachment:
    """SUP-1: a file on a ticket (its bytes kept with it), or a link to a call recording or a call
    record of the ticket's account (a call attached to the ticket)."""

    id: str
    ticket_id: str
    account_id: str
    kind: AttachmentKind
    filename: str
    content_type: str  # sniffed from the bytes, never the sender's word
    size_bytes: int
    sha256: str
    added_at: datetime
    added_by: str
    target_id: str | None = None  # the call recording or call record linked


@dataclass(frozen=True)
class AttachmentBytes:
    """SUP-1: a file attachment's bytes, kept apart so that listing a ticket's files reads none."""

    attachment_id: str
    data: bytes


class MailState(StrEnum):
    """SUP-1: an e-mail the platform sends about a ticket, waiting, sent or given up."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class SupportMail:
    """SUP-1: one e-mail to send (the outbox): written in the transaction of the change it reports,
    sent afterwards through the mail port, retried until it is accepted or given up."""

    id: str
    ticket_id: str | None  # None: a refusal to an unknown sender
    recipient: str
    subject: str
    body: str
    created_at: datetime
    state: MailState = MailState.PENDING
    attempts: int = 0
    next_try_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class PhoneCredential:
    """HW-1: the one credential a supplied desk phone fetches its configuration with (only its hash
    is kept; a new one replaces it), bound to the device and its MAC address."""

    device_id: str
    account_id: str
    token_hash: str  # SHA-256 of the token in the phone's provisioning URL
    mac: str  # 12 lowercase hex digits
    vendor: str  # provisioning.phones.Vendor
    issued_at: datetime
    fetched_at: datetime | None = None  # the phone's last fetch


class UpstreamState(StrEnum):
    """BIL-8: where an activation's order with the upstream provider stands."""

    WAITING = "waiting"  # to be ordered (or ordered, no answer yet: retried)
    PENDING = "pending"  # the upstream has it, not active yet
    ACTIVE = "active"  # confirmed: billed from its confirmation day
    REFUSED = "refused"  # the upstream said no: never billed
    ENDING = "ending"  # a deactivation to send
    ENDED = "ended"


@dataclass(frozen=True)
class UpstreamOrder:
    """BIL-8: an activation's order with the upstream provider, retried until it is answered."""

    activation_id: str
    state: UpstreamState
    requested_at: datetime
    attempts: int = 0
    next_try_at: datetime | None = None
    reference: str | None = None  # the upstream's id of the order
    last_error: str | None = None


@dataclass(frozen=True)
class SupportCharge:
    """PAY-2/BIL-9: a billable support event (``key``) already put on the next invoice as a charge."""

    key: str  # intervention:<id>, return:<id>, port:<id>, ucaas:<activation>:<month>
    charge_id: int
    created_on: date


class SupportStore(Protocol):
    """One repository per kind of support record, in the unit of work's transaction."""

    @property
    def tickets(self) -> Repository[Ticket]: ...
    @property
    def ticket_events(self) -> Repository[TicketEvent]: ...
    @property
    def interventions(self) -> Repository[InterventionRecord]: ...
    @property
    def hardware(self) -> Repository[HardwareItem]: ...
    @property
    def returns(self) -> Repository[HardwareReturn]: ...
    @property
    def ports(self) -> Repository[PortRequest]: ...
    @property
    def activations(self) -> Repository[Activation]: ...
    @property
    def charges(self) -> Repository[SupportCharge]: ...
    @property
    def attachments(self) -> Repository[TicketAttachment]: ...
    @property
    def attachment_bytes(self) -> Repository[AttachmentBytes]: ...
    @property
    def mails(self) -> Repository[SupportMail]: ...
    @property
    def phone_credentials(self) -> Repository[PhoneCredential]: ...
    @property
    def upstream_orders(self) -> Repository[UpstreamOrder]: ...


class SupportUnitOfWork(BillingUnitOfWork, Protocol):
    """A billing unit of work (charges go through ``payments``) that also keeps the support records."""

    @property
    def support(self) -> SupportStore: ...
