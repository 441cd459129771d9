"""Tables of the platform's own call applications (issue #16): schedules, auto-attendant menus,
numbers answered by them, conference rooms' PINs and extensions (CFG-8), their live participants.

Weekly hours, exceptions and menu options are JSON (small, always read whole with their row);
destinations are ``kind:target`` strings (``directory.destinations``).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table

from nuage.storage.sql import tables
from nuage.storage.sql.tables import ID, metadata
from nuage.storage.sql.types import UtcDateTime

DESTINATION = 80

# CFG-8: a room's moderator PIN (hashed) and extension, beside its PIN hash (0030_ivrconf)
tables.conference_rooms.append_column(Column("moderator_pin_hash", String(200)))
tables.conference_rooms.append_column(Column("extension", String(8)))

schedules = Table(  # 0030_ivrconf
    "schedules",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("open_destination", String(DESTINATION), nullable=False),
    Column("closed_destination", String(DESTINATION), nullable=False),
    Column("holiday_destination", String(DESTINATION)),
    Column("observe_holidays", Boolean, nullable=False),
    Column("hours", JSON, nullable=False),  # [[weekday, "HH:MM-HH:MM"], ...]
    Column("exceptions", JSON, nullable=False),  # [{"on": "YYYY-MM-DD", "spans": [...], "label": ...}]
)

ivr_menus = Table(  # 0030_ivrconf
    "ivr_menus",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("prompt", String(60), nullable=False),
    Column("options", JSON, nullable=False),  # {"1": "user:usr_...", ...}
    Column("language", String(2), nullable=False),
    Column("timeout_ms", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("invalid_prompt", String(60), nullable=False),
    Column("timeout_destination", String(DESTINATION)),
    Column("invalid_destination", String(DESTINATION)),
)

number_applications = Table(  # 0030_ivrconf
    "number_applications",
    metadata,
    Column("number_id", String(ID), ForeignKey("phone_numbers.id"), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("destination", String(DESTINATION), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

conference_participants = Table(  # 0030_ivrconf
    "conference_participants",
    metadata,
    Column("id", String(256), primary_key=True),
    Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("room_id", String(ID), ForeignKey("conference_rooms.id"), nullable=False, index=True),
    Column("label", String(200), nullable=False),
    Column("joined_at", UtcDateTime(), nullable=False),
    Column("moderator", Boolean, nullable=False),
    Column("muted", Boolean, nullable=False),
    Column("kicked", Boolean, nullable=False),
)

#: the API's keyset pages over (account, sort field, id), as ``tables.LISTS`` gives the others (0030_ivrconf)
LIST_INDEXES = tuple(
    (f"ix_{table.name}_account_{field}", table.name, ("account_id", field, "id"))
    for table in (schedules, ivr_menus)
    for field in ("created_at", "name")
)
for _name, _table, _columns in LIST_INDEXES:
    Index(_name, *(metadata.tables[_table].c[column] for column in _columns))
