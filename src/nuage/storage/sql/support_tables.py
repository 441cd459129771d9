"""Support tables (SUP-1, SUP-2, BIL-5, HW-1, BIL-7, BIL-8); migrations ``0021``, ``0030_support_mail``,
``0031_provisioning`` and ``0033_ucaas_upstream``.

Tickets and their history, interventions, hardware items and returns, port requests, Telavox
activations, and ``support_charges``: which support events already became a pending charge.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from nuage.storage.sql.billing_tables import ExactDecimal
from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime


def _account() -> Column[str]:
    return Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True)


def _money(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, ExactDecimal(18, 4), nullable=nullable)


support_tickets = Table(
    "support_tickets",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("opened_by", String(ID), nullable=False),
    Column("requester", String(24), nullable=False),
    Column("category", String(24), nullable=False),
    Column("criticality", String(16), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("status", String(24), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("language", String(2), nullable=False),
    Column("on_duty", Boolean, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("respond_by", UtcDateTime, nullable=False),
    Column("resolve_by", UtcDateTime, nullable=False),
    Column("responded_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("contact_email", String(254), nullable=True),  # migration 0030_support_mail
)

support_ticket_events = Table(
    "support_ticket_events",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("ticket_id", String(ID), ForeignKey("support_tickets.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("author_id", String(ID), nullable=False),
    Column("from_desk", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(24), nullable=True),
    UniqueConstraint("ticket_id", "seq"),  # two writers of one history: one wins, the other retries
)

support_interventions = Table(
    "support_interventions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("ticket_id", String(ID), ForeignKey("support_tickets.id"), nullable=False, index=True),
    _account(),
    Column("reason", String(32), nullable=False),
    Column("performed_on", Date, nullable=False),
    Column("minutes", Integer, nullable=False),
    _money("hourly_rate"),
    Column("materials", JSON, nullable=False),
    Column("covered_by", String(32), nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
)

hardware_items = Table(
    "hardware_items",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("model", String(80), nullable=False),
    Column("serial", String(64), nullable=False, unique=True),
    Column("delivered_on", Date, nullable=False),
    Column("mac", String(17), nullable=True),
    Column("device_id", String(ID), nullable=True),
)

hardware_returns = Table(
    "hardware_returns",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("item_id", String(ID), ForeignKey("hardware_items.id"), nullable=False, index=True),
    _account(),
    Column("ticket_id", String(ID), ForeignKey("support_tickets.id"), nullable=False, index=True),
    Column("state", String(24), nullable=False),
    Column("reported_on", Date, nullable=False),
    Column("payer", String(16), nullable=False),
    _money("carriage"),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("replacement_serial", String(64), nullable=True),
)

port_requests = Table(
    "port_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("e164", String(20), nullable=False, index=True),
    Column("direction", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("requested_on", Date, nullable=False),
    Column("port_on", Date, nullable=True),
)

ucaas_activations = Table(
    "ucaas_activations",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("item_code", String(40), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("active_from", Date, nullable=True),
    Column("active_until", Date, nullable=True),
)

support_charges = Table(
    "support_charges",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("charge_id", Integer, nullable=False),
    Column("created_on", Date, nullable=False),
)

support_attachments = Table(
    "support_attachments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("ticket_id", String(ID), ForeignKey("support_tickets.id"), nullable=False, index=True),
    _account(),
    Column("kind", String(16), nullable=False),
    Column("filename", String(160), nullable=False),
    Column("content_type", String(80), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("added_by", String(ID), nullable=False),
    Column("target_id", String(ID), nullable=True),
)

support_attachment_bytes = Table(
    "support_attachment_bytes",
    metadata,
    Column("attachment_id", String(ID), ForeignKey("support_attachments.id"), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

support_mails = Table(
    "support_mails",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("ticket_id", String(ID), nullable=True),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_try_at", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("last_error", String(300), nullable=True),
)

phone_credentials = Table(
    "phone_credentials",
    metadata,
    Column("device_id", String(ID), primary_key=True),  # no foreign key: a removed device ends it
    _account(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("mac", String(12), nullable=False, index=True),
    Column("vendor", String(16), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("fetched_at", UtcDateTime, nullable=True),
)

ucaas_upstream_orders = Table(
    "ucaas_upstream_orders",
    metadata,
    Column("activation_id", String(ID), ForeignKey("ucaas_activations.id"), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_try_at", UtcDateTime, nullable=True),
    Column("reference", String(80), nullable=True),
    Column("last_error", String(300), nullable=True),
)
