"""Support: tickets and their history, interventions, hardware and returns, port requests, Telavox
activations, and the support events already charged (SUP-1, SUP-2, BIL-5, HW-1, BIL-7, BIL-8)

Revision ID: 0021
Revises: 0023
Create Date: 2026-12-05 09:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.storage.sql.billing_tables import ExactDecimal
from nuage.storage.sql.types import UtcDateTime

revision: str = "0021"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str = "id") -> sa.Column[str]:
    return sa.Column(name, sa.String(length=40), nullable=False)


def _account() -> sa.Column[str]:
    return sa.Column("account_id", sa.String(length=40), sa.ForeignKey("parties.id"), nullable=False)


def _fk(name: str, target: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=40), sa.ForeignKey(f"{target}.id"), nullable=False)


def _money(name: str) -> sa.Column[object]:
    return sa.Column(name, ExactDecimal(precision=18, scale=4), nullable=False)


def _index(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "support_tickets",
        _id(),
        _account(),
        sa.Column("opened_by", sa.String(length=40), nullable=False),
        sa.Column("requester", sa.String(length=24), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("criticality", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("respond_by", UtcDateTime(), nullable=False),
        sa.Column("resolve_by", UtcDateTime(), nullable=False),
        sa.Column("responded_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_support_tickets"),
    )
    _index("support_tickets", "account_id", "status")
    op.create_table(
        "support_ticket_events",
        _id(),
        _fk("ticket_id", "support_tickets"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("author_id", sa.String(length=40), nullable=False),
        sa.Column("from_desk", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_support_ticket_events"),
        sa.UniqueConstraint("ticket_id", "seq", name="uq_support_ticket_events_ticket_id"),
    )
    _index("support_ticket_events", "ticket_id")
    op.create_table(
        "support_interventions",
        _id(),
        _fk("ticket_id", "support_tickets"),
        _account(),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        _money("hourly_rate"),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("covered_by", sa.String(length=32), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_support_interventions"),
    )
    _index("support_interventions", "ticket_id", "account_id")
    op.create_table(
        "hardware_items",
        _id(),
        _account(),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=True),
        sa.Column("device_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hardware_items"),
        sa.UniqueConstraint("serial", name="uq_hardware_items_serial"),
    )
    _index("hardware_items", "account_id")
    op.create_table(
        "hardware_returns",
        _id(),
        _fk("item_id", "hardware_items"),
        _account(),
        _fk("ticket_id", "support_tickets"),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("payer", sa.String(length=16), nullable=False),
        _money("carriage"),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("replacement_serial", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hardware_returns"),
    )
    _index("hardware_returns", "item_id", "account_id", "ticket_id")
    op.create_table(
        "port_requests",
        _id(),
        _account(),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("port_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_port_requests"),
    )
    _index("port_requests", "account_id", "e164")
    op.create_table(
        "ucaas_activations",
        _id(),
        _account(),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("active_until", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ucaas_activations"),
    )
    _index("ucaas_activations", "account_id")
    op.create_table(
        "support_charges",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("charge_id", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_support_charges"),
    )


def downgrade() -> None:
    for table in (
        "support_charges",
        "ucaas_activations",
        "port_requests",
        "hardware_returns",
        "hardware_items",
        "support_interventions",
        "support_ticket_events",
        "support_tickets",
    ):
        op.drop_table(table)
