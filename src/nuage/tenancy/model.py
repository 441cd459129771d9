"""Parties, branding and orders (TEN-1..3, TEN-5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class PartyKind(StrEnum):
    """TEN-1: the three kinds of party."""

    OPERATOR = "operator"
    PARTNER = "partner"
    CUSTOMER = "customer"


class PartyStatus(StrEnum):
    """Where a party stands: suspension is PAY-1/PAY-3, bankruptcy CTR-4, termination CTR-2."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    BANKRUPT = "bankrupt"
    TERMINATED = "terminated"


class Language(StrEnum):
    """The three languages the terms, portal, e-mails and invoices exist in."""

    EN = "en"
    FR = "fr"
    NL = "nl"


class CapacityReading(StrEnum):
    """CAP-1: how the bands apply; a price-plan setting because both readings are plausible."""

    LITERAL = "literal"  # the band of the total applies to every user (spec decision, the default)
    GRADUATED = "graduated"  # each band applies to the users inside it, like tax brackets


@dataclass
class Party:
    """TEN-1: the operator, a partner or a final customer.

    A final customer with ``partner_id`` set is indirect (served through that partner);
    without it, it is direct (contract with the operator).
    """

    id: str
    kind: PartyKind
    name: str
    created_at: datetime
    partner_id: str | None = None
    status: PartyStatus = PartyStatus.ACTIVE
    language: Language = Language.EN
    email: str | None = None
    phone: str | None = None
    vat_number: str | None = None  # e.g. BE0123456789; drives reverse charge for EU B2B
    enterprise_number: str | None = None  # Belgian KBO/BCE number, Peppol scheme 0208
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str = "BE"
    capacity_reading: CapacityReading = CapacityReading.LITERAL
    # TEN-2 white label (partners only)
    brand_name: str | None = None
    brand_logo_url: str | None = None
    brand_primary_color: str | None = None
    brand_secondary_color: str | None = None
    brand_support_email: str | None = None
    brand_support_phone: str | None = None
    brand_portal_host: str | None = None
    status_changed_at: datetime | None = None
    status_reason: str | None = None

    @property
    def is_direct(self) -> bool:
        """TEN-1: a final customer with no partner contracts with the operator."""
        return self.kind is PartyKind.CUSTOMER and self.partner_id is None

    @property
    def white_label(self) -> bool:
        """TEN-2: a partner that presents the service under its own name."""
        return self.kind is PartyKind.PARTNER and bool(self.brand_name)


@dataclass
class Order:
    """TEN-3: placing an order accepts the terms; the version, language and time are kept."""

    id: str
    customer_id: str
    placed_by_party_id: str
    terms_version: str
    language: Language
    accepted_at: datetime
    accepted_by: str  # the name or user id of the person who accepted
    service_start_on: date
    minimum_term_months: int = 24  # CTR-1 default, unless the order form says otherwise
    description: str = ""
    lines: list[OrderLine] = field(default_factory=list)


@dataclass(frozen=True)
class OrderLine:
    """One item of an order: a one-time fee (BIL-1) or a recurring service."""

    item: str  # e.g. "hardware:desk_phone", "activation", "installation", "user"
    quantity: int
    description: str = ""
