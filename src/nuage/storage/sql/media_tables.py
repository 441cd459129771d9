"""Tables of the media plane (issue #15): the call recordings of CFG-9 (their files live in the data
directory: ``<data_dir>/recordings/<account_id>/<id>.flac``), and the account's music on hold (one of
its sound files, CFG-12, kept as ``<data_dir>/sounds/<account_id>/<id>.wav``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table

from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

call_recordings = Table(  # 0020
    "call_recordings",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("call_id", String(256), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

hold_music_settings = Table(  # 0030_sounds
    "hold_music_settings",
    metadata,
    Column("account_id", String(ID), ForeignKey("parties.id"), primary_key=True),
    Column("sound_file_id", String(ID), ForeignKey("sound_files.id")),
)
