"""Tables of voicemail (issue #16): boxes and their messages (the audio files live in the data
directory: ``<data_dir>/voicemail/<account_id>/<box_id>/<message_id>.flac``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

voicemail_boxes = Table(  # 0030_voicemail
    "voicemail_boxes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("number", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("user_id", String(ID), ForeignKey("users.id"), unique=True),
    Column("members", Text, nullable=False),  # user ids, space-separated
    Column("pin_hash", String(200)),
    Column("language", String(2), nullable=False),
    Column("email", String(320)),
    Column("attach_audio", Boolean, nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("max_message_s", Integer, nullable=False),
    Column("greetings", String(100), nullable=False),  # Greeting values, space-separated
    Index("uq_voicemail_boxes_account_number", "account_id", "number", unique=True),
)

voicemail_messages = Table(  # 0030_voicemail
    "voicemail_messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("box_id", String(ID), ForeignKey("voicemail_boxes.id"), nullable=False),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("folder", String(8), nullable=False),
    Column("caller_name", String(200), nullable=False),
    Column("heard_at", UtcDateTime()),
    Column("emailed_at", UtcDateTime()),
    Index("ix_voicemail_messages_box_received_at", "box_id", "received_at", "id"),
)
