"""Billing tables (RAT, CNT, BIL, CTR) on the shared ``metadata``; migration ``0004``.

Money is stored twice, as STYLE asks: ``*_minor`` (cents, an integer) for sums and
display, and ``*_precise`` (``Numeric``) for the exact value the domain computed.
Two tables are append-only and guarded by triggers created in the migration:
``monthly_summaries`` (CNT-1: a frozen summary is never updated) and ``invoices`` /
``invoice_lines`` (BIL-4: an issued invoice is voided and regenerated, never edited).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from nuage.storage.sql.tables import ID, cdrs, metadata
from nuage.storage.sql.types import UtcDateTime


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC`` on PostgreSQL, text on SQLite (whose NUMERIC is a float)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 30, scale: int = 12) -> None:
        super().__init__(precision, scale)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value


def _rate() -> ExactDecimal:
    """Per-minute prices."""
    return ExactDecimal(18, 6)


def _exact() -> ExactDecimal:
    """RAT-1 exact amounts before rounding."""
    return ExactDecimal(30, 12)


def _money() -> ExactDecimal:
    """Rounded amounts, kept exact."""
    return ExactDecimal(18, 4)


def _quantity() -> ExactDecimal:
    """Counted quantities."""
    return ExactDecimal(18, 4)


# RAT-3: the CDRs of accounts with traffic packs are rated in call order (started_at, id).
Index("ix_cdrs_started_at_id", cdrs.c.started_at, cdrs.c.id)

# --- tariffs (RAT-2): versioned, with validity, one book per rating run --------------------------------
tariffs = Table(
    "tariffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run", String(32), nullable=False),  # customer-retail / partner-wholesale
    Column("version", String(64), nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_to", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("run", "version", name="uq_tariffs_run_version"),
)

tariff_rates = Table(
    "tariff_rates",
    metadata,
    Column("tariff_id", Integer, ForeignKey("tariffs.id", ondelete="CASCADE"), primary_key=True),
    Column("prefix", String(16), primary_key=True),  # E.164 digits, longest prefix wins
    Column("per_minute", _rate(), nullable=False),
    Column("description", String(80), nullable=False, server_default=""),  # migration 0018
    Column("minimum", _rate(), nullable=False, server_default="0"),  # per charged call
    Column("connection_fee", _rate(), nullable=False, server_default="0"),  # per charged call
)

# --- price plans (BIL-1, BIL-2, TEN-5): versioned price lists, assignment to a party -------------------
price_lists = Table(
    "price_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", String(64), nullable=False, index=True),
    Column("version", String(64), nullable=False),
    Column("audience", String(32), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("recurring", JSON, nullable=False),  # item kind -> charge spec
    Column("one_time", JSON, nullable=False),  # one-time kind -> price (string)
    Column("capacity_reading", String(16), nullable=False),
    Column("run_day", Integer, nullable=False),
    Column("interest_reading", String(24)),  # PAY-2 (migration 0018); NULL: the operator's setting
    Column("resale", JSON),  # BIL-8 (migration 0032_resale_prices): item code -> monthly price; NULL: none
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("plan_id", "audience", "version", name="uq_price_lists_plan_audience_version"),
)

plan_assignments = Table(
    "plan_assignments",
    metadata,
    Column("party_id", String(ID), ForeignKey("parties.id"), primary_key=True),
    Column("plan_id", String(64), nullable=False),
    Column("assigned_at", UtcDateTime(), nullable=False),
)

# --- counting (CNT-1..3) -------------------------------------------------------------------------------
count_records = Table(
    "count_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False),
    Column("counted_at", UtcDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("quantity", _quantity(), nullable=False),
    Index("ix_count_records_account_counted", "account_id", "counted_at"),
)

monthly_summaries = Table(
    "monthly_summaries",
    metadata,
    Column("account_id", String(ID), ForeignKey("parties.id"), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM
    Column("items", JSON, nullable=False),  # item kind -> quantity (string, exact)
    Column("frozen_at", UtcDateTime(), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

number_holdings = Table(
    "number_holdings",
    metadata,
    Column("account_id", String(ID), ForeignKey("parties.id"), primary_key=True),
    Column("number", String(32), primary_key=True),
    Column("taken_on", Date, primary_key=True),
    Column("released_on", Date),
)

# --- rating (RAT-1..3) ---------------------------------------------------------------------------------


def _key_text(length: int) -> TypeEngine[str]:
    """Text compared byte by byte: ``COLLATE "C"`` on PostgreSQL (migration 0011), as SQLite always
    compares. For the columns of ``rated_calls``' two indexes, which a rating pass fills with a
    million entries: a descent compares keys with ``memcmp`` instead of the locale's ``strcoll``."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


rated_calls = Table(
    "rated_calls",
    metadata,
    Column("cdr_id", _key_text(ID), primary_key=True),
    Column("run", _key_text(32), primary_key=True),  # RAT: one cost record per (CDR, run)
    Column("account_id", _key_text(ID), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("destination", String(128), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("tariff_version", String(64), nullable=False),
    Column("billable_seconds", Integer, nullable=False),
    Column("pack_seconds", Integer, nullable=False),
    Column("charged_seconds", Integer, nullable=False),
    Column("per_minute", _rate(), nullable=False),
    Column("exact_amount", _exact(), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("amount_precise", _money(), nullable=False),
    Column("pack_ids", String(400), nullable=False),  # space-separated
    Column("emergency", Boolean, nullable=False),
    Column("itemised", Boolean, nullable=False),
    Column("rated_at", UtcDateTime(), nullable=False),
    Column("invoice_id", String(ID)),  # BIL-3: set when a run invoices the call
    # BIL-3: only what is left to invoice (migration 0008); marking a call drops its entry.
    # The account first (migration 0010): it tells entries apart at once, the run seldom does.
    Index(
        "ix_rated_calls_uninvoiced",
        "account_id",
        "run",
        sqlite_where=text("invoice_id IS NULL"),
        postgresql_where=text("invoice_id IS NULL"),
    ),
)

pack_balances = Table(
    "pack_balances",
    metadata,
    Column("pack_id", String(ID), primary_key=True),
    Column("run", String(32), primary_key=True),
    Column("used_seconds", BigInteger, nullable=False),
    Column("used_amount_minor", BigInteger, nullable=False),
    Column("used_amount_precise", _money(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# --- contracts (CTR-1..4), from orders -----------------------------------------------------------------
contracts = Table(
    "contracts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("parties.id"), nullable=False, unique=True),
    Column("contracting_party_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False),
    Column("start_on", Date, nullable=False),
    Column("minimum_term_months", Integer, nullable=False),
    Column("termination_received_on", Date),
    Column("termination_effective_on", Date),
    Column("bankruptcy_proof_on", Date),
    Column("recurring_billed_through", String(7)),  # BIL-9: last period invoiced, YYYY-MM
    Column("created_at", UtcDateTime(), nullable=False),
)

contract_events = Table(  # CTR-2/CTR-4: the audit trail of notices, ends, bankruptcies, reversals (0023)
    "contract_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("actor_id", String(ID), nullable=False),
)

# --- invoices (BIL-1..4, BIL-9, BIL-10) ----------------------------------------------------------------
invoices = Table(
    "invoices",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("run_key", String(128), nullable=False, unique=True),  # BIL-9
    Column("document_type", String(16), nullable=False),
    Column("invoiced_party_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("issue_on", Date, nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("period", String(7), index=True),
    Column("currency", String(3), nullable=False),
    Column("vat_regime", String(32), nullable=False),
    Column("vat_rate", ExactDecimal(6, 4), nullable=False),
    Column("vat_mention_key", String(64)),
    Column("net_minor", BigInteger, nullable=False),
    Column("net_precise", _money(), nullable=False),
    Column("vat_minor", BigInteger, nullable=False),
    Column("vat_precise", _money(), nullable=False),
    Column("gross_minor", BigInteger, nullable=False),
    Column("gross_precise", _money(), nullable=False),
    Column("replaces", String(32)),  # number of the invoice this one replaces
    Column("credits", String(32), unique=True),  # for a credit note: the invoice it cancels
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", String(ID), ForeignKey("invoices.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("rule_id", String(16), nullable=False),
    Column("description_key", String(128), nullable=False),
    Column("description_params", JSON, nullable=False),
    Column("customer_id", String(ID), nullable=False, index=True),
    Column("item_kind", String(32), nullable=False),
    Column("period", String(7)),
    Column("quantity", _quantity(), nullable=False),
    Column("unit_price", _rate(), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("amount_precise", _money(), nullable=False),
    Column("proration", String(32)),  # BIL-2 share "n/d"
    Column("sources", JSON, nullable=False),  # BIL-10: [[kind, key], ...]
    # BIL-4: the line's own VAT category (billing.vat.LineVat); NULL follows the invoice's regime
    Column("vat_category", String(2)),
    Column("vat_rate", ExactDecimal(6, 4)),
    Column("vat_exemption_code", String(32)),
    Column("vat_exemption_key", String(64)),
)

invoice_counters = Table(
    "invoice_counters",
    metadata,
    Column("series", String(8), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_number", String(32)),  # BIL-4: gapless; row locked while issuing
)

billing_runs = Table(
    "billing_runs",
    metadata,
    Column("run_key", String(128), primary_key=True),  # BIL-9: a re-run finds its key and stops
    Column("kind", String(64), nullable=False),
    Column("period", String(32)),
    Column("invoiced_party_id", String(ID), ForeignKey("parties.id"), nullable=False),
    Column("invoice_id", String(ID), ForeignKey("invoices.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

#: Tables whose rows are never updated (triggers in migration 0004 refuse UPDATE).
APPEND_ONLY = ("monthly_summaries", "invoices", "invoice_lines")

__all__ = [
    "APPEND_ONLY",
    "billing_runs",
    "contracts",
    "count_records",
    "invoice_counters",
    "invoice_lines",
    "invoices",
    "monthly_summaries",
    "number_holdings",
    "pack_balances",
    "plan_assignments",
    "price_lists",
    "rated_calls",
    "tariff_rates",
    "tariffs",
]
