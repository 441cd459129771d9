"""Documents, deliveries, payments, bank statements and dunning tables (BIL-4, PAY-1..4); migration ``0005``.

Money is stored as ``*_minor`` (cents) and ``*_precise`` (exact), like the billing tables.
Decision: the PDF and UBL files are stored in the database (``invoice_documents``) with their
SHA-256, not on disk: they commit with the rest, every web node serves them, and a database
backup holds them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
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


def _money() -> ExactDecimal:
    return ExactDecimal(18, 4)


# --- documents (BIL-4): the PDF and the Peppol UBL of every issued invoice and credit note --------------
invoice_documents = Table(
    "invoice_documents",
    metadata,
    Column("number", String(32), ForeignKey("invoices.number"), primary_key=True),
    Column("invoiced_party_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("language", String(2), nullable=False),
    Column("brand", String(200), nullable=False),
    Column("structured_reference", String(24), unique=True),  # PAY-1; none on credit notes
    Column("due_on", Date, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("pdf_sha256", String(64), nullable=False),
    Column("ubl", LargeBinary, nullable=False),
    Column("ubl_sha256", String(64), nullable=False),
    Column("rendered_at", UtcDateTime(), nullable=False),
)

# --- snapshots (BIL-4): what each issued document shows, frozen at issue (documents.snapshot); 0014 ---
invoice_snapshots = Table(
    "invoice_snapshots",
    metadata,
    Column("number", String(32), ForeignKey("invoices.number"), primary_key=True),
    Column("content", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("frozen_at", UtcDateTime(), nullable=False),
)

# --- deliveries (BIL-4): every e-mail sent or tried, with its attempts ----------------------------------
deliveries = Table(
    "invoice_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), ForeignKey("invoices.number"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # invoice / reminder
    Column("recipient", String(320), nullable=False),
    Column("status", String(16), nullable=False),  # sent / failed
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("message_id", String(200)),
    Column("at", UtcDateTime(), nullable=False),
)

# --- payments (PAY-1) ------------------------------------------------------------------------------------
payments = Table(
    "payments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("party_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("invoice_number", String(32)),  # matched invoice; None: account credit
    Column("received_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("amount_precise", _money(), nullable=False),
    Column("source", String(16), nullable=False),  # manual / camt / parked
    Column("note", Text),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

bank_statements = Table(
    "bank_statements",
    metadata,
    Column("statement_id", String(64), primary_key=True),
    Column("account_iban", String(34)),
    Column("sha256", String(64), nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
)

bank_entries = Table(
    "bank_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("statement_id", String(64), ForeignKey("bank_statements.statement_id"), nullable=False),
    Column("entry_ref", String(80), nullable=False),
    Column("booked_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("amount_precise", _money(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("credit", Integer, nullable=False),  # 1: CRDT, 0: DBIT
    Column("reference", String(200)),
    Column("debtor_name", String(200)),
    Column("debtor_iban", String(34)),
    Column("outcome", String(16), nullable=False),  # matched / parked / ignored
    Column("payment_id", String(ID), ForeignKey("payments.id")),
    Column("imported_at", UtcDateTime(), nullable=False),
    UniqueConstraint("statement_id", "entry_ref", name="uq_bank_entries_statement_entry"),  # idempotent
)

parked_entries = Table(
    "parked_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bank_entry_id", Integer, ForeignKey("bank_entries.id"), nullable=False, unique=True),
    Column("reason", Text, nullable=False),
    Column("parked_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime()),
    Column("payment_id", String(ID), ForeignKey("payments.id")),
)

# --- dunning (PAY-1, PAY-2) ------------------------------------------------------------------------------
reminders = Table(
    "payment_reminders",
    metadata,
    Column("invoice_number", String(32), ForeignKey("invoices.number"), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("party_id", String(ID), ForeignKey("parties.id"), nullable=False),
    Column("sent_on", Date, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("fee_precise", _money(), nullable=False),
    Column("outstanding_precise", _money(), nullable=False),
)

pending_charges = Table(
    "pending_charges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("party_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),  # late_interest / reminder_fee / collection_costs
    Column("source_invoice", String(32)),  # the invoice the charge is about
    Column("rule_id", String(16), nullable=False),
    Column("description_key", String(128), nullable=False),
    Column("params", JSON, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("amount_precise", _money(), nullable=False),
    Column("accrued_total_precise", _money()),  # PAY-2 interest: rounded total charged so far
    Column("created_on", Date, nullable=False),
    Column("invoiced_in", String(32)),  # number of the invoice that carried it
)
