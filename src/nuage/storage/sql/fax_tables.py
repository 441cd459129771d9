"""Tables of received faxes (CFG-7, issue #16); the PDFs live in the data directory
(``<data_dir>/faxes/<account_id>/<received_fax_id>.pdf``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

received_faxes = Table(  # 0031_fax
    "received_faxes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("fax_id", String(ID), ForeignKey("virtual_faxes.id"), nullable=False),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("status", String(8), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("emailed_at", UtcDateTime()),
    Index("ix_received_faxes_fax_received_at", "fax_id", "received_at", "id"),
)
