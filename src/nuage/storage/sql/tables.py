"""The schema. Every change here comes with an Alembic migration under ``migrations/versions``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from nuage.storage.sql.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 40


def _account() -> Column[str]:
    return Column("account_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True)


parties = Table(
    "parties",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("partner_id", String(ID), ForeignKey("parties.id"), index=True),
    Column("status", String(16), nullable=False),
    Column("language", String(2), nullable=False),
    Column("email", String(320)),
    Column("phone", String(32)),
    Column("vat_number", String(32)),
    Column("enterprise_number", String(32)),
    Column("street", String(200)),
    Column("postal_code", String(16)),
    Column("city", String(100)),
    Column("country", String(2), nullable=False),
    Column("capacity_reading", String(16), nullable=False),
    Column("brand_name", String(200)),
    Column("brand_logo_url", String(500)),
    Column("brand_primary_color", String(16)),
    Column("brand_secondary_color", String(16)),
    Column("brand_support_email", String(320)),
    Column("brand_support_phone", String(32)),
    Column("brand_portal_host", String(200)),
    Column("status_changed_at", UtcDateTime()),
    Column("status_reason", Text),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("parties.id"), nullable=False, index=True),
    Column("placed_by_party_id", String(ID), ForeignKey("parties.id"), nullable=False),
    Column("terms_version", String(32), nullable=False),
    Column("language", String(2), nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=False),
    Column("accepted_by", String(200), nullable=False),
    Column("service_start_on", Date, nullable=False),
    Column("minimum_term_months", Integer, nullable=False),
    Column("description", Text, nullable=False),
    Column("lines", JSON, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("role", String(16), nullable=False),
    Column("no_service", Boolean, nullable=False),
    Column("email", String(320), unique=True),
    Column("extension", String(16)),
    Column("language", String(2)),
    Column("emergency_number_id", String(ID)),
    Column("communal_room_id", String(ID)),
    Column("password_hash", String(200)),
    Column("hot_desk_pin_hash", String(200)),
    Column("token_generation", Integer, nullable=False, server_default="0"),
    UniqueConstraint("account_id", "extension", name="uq_users_account_extension"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("kind", String(24), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("user_id", String(ID), ForeignKey("users.id"), index=True),
    Column("room_id", String(ID), ForeignKey("communal_rooms.id"), index=True),
    Column("sip_username", String(64), unique=True),
    Column("sip_password", String(128)),
    Column("purpose", String(16), nullable=False),
    Column("hot_desk", Boolean, nullable=False),
    Column("site", String(200)),
    Column("emergency_number_id", String(ID)),
    Column("mac_address", String(17)),
)

communal_rooms = Table(
    "communal_rooms",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("use", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

number_blocks = Table(
    "number_blocks",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("first_e164", String(20), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("street", String(200)),
    Column("postal_code", String(16)),
    Column("city", String(100)),
    Column("country", String(2)),
    Column("address_updated_on", Date),
)

phone_numbers = Table(
    "phone_numbers",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("e164", String(20), nullable=False, unique=True),
    Column("scope", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("block_id", String(ID), ForeignKey("number_blocks.id"), index=True),
    Column("user_id", String(ID), ForeignKey("users.id"), index=True),
    Column("device_id", String(ID), ForeignKey("devices.id"), index=True),
    Column("trunk_id", String(ID), ForeignKey("trunks.id"), index=True),
    Column("main", Boolean, nullable=False),
    Column("activated_on", Date),
    Column("ring_group_id", String(ID)),  # 0030: the number rings a ring group (issue #15)
)

virtual_faxes = Table(
    "virtual_faxes",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("number_id", String(ID), ForeignKey("phone_numbers.id"), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

conference_rooms = Table(
    "conference_rooms",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("pin_hash", String(200)),  # 0030_ivrconf: hashed; more columns in app_tables
)

recording_settings = Table(
    "recording_settings",
    metadata,
    Column("account_id", String(ID), ForeignKey("parties.id"), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("acknowledged_by_user_id", String(ID), ForeignKey("users.id")),
    Column("acknowledged_at", UtcDateTime()),
    Column("stored_bytes", BigInteger, nullable=False),
    Column("recordings", Integer, nullable=False),
    Column("scope", String(8), nullable=False, server_default="all"),  # 0032_recording_choice
    Column("direction", String(8), nullable=False, server_default="both"),
    Column("user_ids", Text, nullable=False, server_default=""),  # space-separated ids
    Column("number_ids", Text, nullable=False, server_default=""),
    Column("retention_days", Integer),
)

web_channels = Table(
    "web_channels",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("channels", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("allowed_origin", String(300)),
    Column("target_number_id", String(ID), ForeignKey("phone_numbers.id")),
)

traffic_packs = Table(
    "traffic_packs",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("minutes", Integer),
    Column("amount", Numeric(14, 4)),
    Column("channel_limit", Integer),
    Column("valid_until", Date),
)

trunks = Table(
    "trunks",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("auth", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("sip_username", String(64), unique=True),
    Column("sip_password", String(128)),
    Column("allowed_ips", Text),
    Column("emergency_number_id", String(ID)),
    Column("channel_limit", Integer),
    Column("site", String(200)),  # EMG-2: the declared address of the PBX's phones
)

sound_files = Table(
    "sound_files",
    metadata,
    Column("id", String(ID), primary_key=True),
    _account(),
    Column("name", String(200), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by_user_id", String(ID), ForeignKey("users.id")),
    Column("copyright_acknowledged_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("duration_ms", Integer),  # 0030_sounds: the converted audio's length
)

carrier_trunks = Table(
    "carrier_trunks",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("host", String(200), nullable=False),
    Column("port", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("transport", String(8), nullable=False),
    Column("enabled", Boolean, nullable=False),
)

#: table: (owner, sort fields, filters of few values). Every list of the API pages by keyset over
#: (owner, sort field, id) within its owner, so a page reads its rows off an index whatever the
#: tenant's size; a filter of few values (a role, a flag) gets (owner, filter). Migration 0016;
#: ``api_tables`` has its own.
LISTS: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {
    "carrier_trunks": (None, ("name", "created_at"), ("enabled",)),
    "conference_rooms": ("account_id", ("name", "created_at"), ()),
    "devices": ("account_id", ("created_at", "label", "kind"), ("hot_desk",)),
    "virtual_faxes": ("account_id", ("created_at", "email"), ()),
    "number_blocks": ("account_id", ("first_e164", "created_at"), ()),
    "phone_numbers": ("account_id", ("e164", "created_at"), ("scope", "main")),
    "orders": ("customer_id", ("accepted_at", "service_start_on"), ()),
    "traffic_packs": ("account_id", ("created_at", "name", "valid_from"), ()),
    "parties": ("kind", ("name", "created_at"), ("status",)),
    "communal_rooms": ("account_id", ("name", "created_at"), ("use",)),
    "sound_files": ("account_id", ("created_at", "name"), ()),
    "trunks": ("account_id", ("name", "created_at"), ("auth",)),
    "users": ("account_id", ("name", "created_at", "extension", "email"), ("role", "no_service")),
    "web_channels": ("account_id", ("name", "created_at"), ()),
}
LIST_INDEXES = tuple(
    (f"ix_{table}_{owner.removesuffix('_id') + '_' if owner else ''}{field}", table, (*owner_, *extra))
    for table, (owner, sorts, few) in LISTS.items()
    for owner_ in [(owner,) if owner else ()]
    for field, extra in [*((s, (s, "id")) for s in sorts), *((f, (f,)) for f in few)]
)

# --- SIP data plane: registrations that survive a restart, and call detail records (SIP-1) -------

sip_bindings = Table(
    "sip_bindings",
    metadata,
    Column("aor", String(128), primary_key=True),  # the registered address of record (username)
    Column("contact", String(512), primary_key=True),
    Column("device_id", String(ID), index=True),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("received", String(64)),  # where the REGISTER came from (host:port), for NATed phones
    Column("transport", String(8), nullable=False),
    Column("call_id", String(256), nullable=False),
    Column("cseq", Integer, nullable=False),
    Column("user_agent", String(256)),
    Column("q", Numeric(4, 3)),
    Column("instance_id", String(256)),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sip_bans = Table(  # SIP-5: source addresses the SIP edge drops, until a time (kept over restarts)
    "sip_bans",
    metadata,
    Column("address", String(64), primary_key=True),  # the source IP
    Column("since", UtcDateTime(), nullable=False),
    Column("until", UtcDateTime(), nullable=False, index=True),
    Column("reason", String(256), nullable=False),
)

cdrs = Table(
    "cdrs",
    metadata,
    Column("id", String(ID), primary_key=True),  # idempotency key: rating a CDR twice gives one result
    Column("call_id", String(256), nullable=False, index=True),
    Column("account_id", String(ID), index=True),  # None for calls nobody could be charged for
    Column("direction", String(16), nullable=False),  # outbound, inbound, internal
    Column("caller", String(128), nullable=False),
    Column("callee", String(128), nullable=False),
    Column("device_id", String(ID)),
    Column("user_id", String(ID)),
    Column("trunk_id", String(ID)),
    Column("carrier_trunk_id", String(ID)),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("answered_at", UtcDateTime()),
    Column("ended_at", UtcDateTime(), nullable=False),
    Column("billable_seconds", Integer, nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("sip_status", Integer, nullable=False),
    Column("refusal_rule", String(16)),
    Column("emergency", Boolean, nullable=False),
    Column("source", String(16), nullable=False),  # "sip" or "import"
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("disposition", String(64)),  # why it ended, when unusual: "interrupted by node failure"...
    *(Column(name, Float) for name in ("loss_percent", "jitter_ms", "mos")),  # media quality (0020)
)

Index("ix_cdrs_account_started", cdrs.c.account_id, cdrs.c.started_at)
Index("ix_cdrs_started_id", cdrs.c.started_at, cdrs.c.id)  # call records across accounts (0017)

# --- SIP data plane, part 2: the terms on every call (#7) ------------------------------------

emergency_numbers = Table(  # EMG-4: short numbers the operator adds to 112, 100 and 101
    "emergency_numbers",
    metadata,
    Column("number", String(16), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

hot_desk_sessions = Table(  # CFG-13: who is logged in on which shared phone, until when
    "hot_desk_sessions",
    metadata,
    Column("device_id", String(ID), ForeignKey("devices.id"), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)

autodialer_blocks = Table(  # SIP-4: accounts and trunks stopped as automatic calling machines
    "autodialer_blocks",
    metadata,
    Column("subject_kind", String(16), primary_key=True),  # "account" or "trunk"
    Column("subject_id", String(ID), primary_key=True),
    Column("account_id", String(ID), nullable=False, index=True),
    Column("blocked_at", UtcDateTime(), nullable=False),
    Column("reason", Text, nullable=False),
)

call_limits = Table(  # SIP-5: the operator's outbound spending cap of an account per day
    "call_limits",
    metadata,
    Column("account_id", String(ID), ForeignKey("parties.id"), primary_key=True),
    Column("daily_spend_cap", Numeric(12, 2)),  # EUR excl. VAT per Brussels day; NULL: no cap
    Column("updated_at", UtcDateTime(), nullable=False),
)

# What the data plane's snapshots are built from changed: database triggers on those tables add a
# row here in the writer's own transaction (migration 0009), so a snapshot is rebuilt only when it
# could differ, and (migration 0016) which accounts (``nuage.storage.sql.snapshots.ChangeFeed``).
directory_changes = Table(
    "directory_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("table_name", String(64), nullable=False),
    Column("account_id", String(ID)),  # the account a change touched; NULL: any (migration 0016)
)

#: the tables the SIP directory and the call policy are built from (each has the change trigger)
WATCHED_TABLES = (
    "parties",
    "users",
    "devices",
    "phone_numbers",
    "traffic_packs",
    "trunks",
    "carrier_trunks",
    "emergency_numbers",
    "hot_desk_sessions",
    "call_limits",
    "autodialer_blocks",
    "tariffs",
    "tariff_rates",
)

for _name, _table, _columns in LIST_INDEXES:
    Index(_name, *(metadata.tables[_table].c[column] for column in _columns))
