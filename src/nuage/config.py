"""Settings: one typed object, read once in the entrypoint and passed down.

Layering, lowest first: defaults in code < ``<data-dir>/nuage.toml`` (or ``NUAGE_CONFIG_FILE``)
< environment (``NUAGE_*``, nested with ``__``) < command-line flags. Nothing else reads the
environment.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class HttpSettings(BaseModel):
    """Where the web server (API, portal, health) listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class SipAutoDialerSettings(BaseModel):
    """SIP-4: the operator's thresholds of the auto-dialer detector (``[sip.autodialer]``)."""

    window_s: float = Field(default=60.0, gt=0)  # the sliding window the measures are taken over
    min_sample: int = Field(default=10, ge=1)  # attempts (and ended calls) before any verdict
    max_attempts_per_min: float = Field(default=30.0, gt=0)  # rate at which the pattern is looked at
    short_call_s: int = Field(default=10, ge=0)  # an answered call under this is short
    short_or_unanswered_share: float = Field(default=0.6, gt=0, le=1)  # share that flags
    sequential_run: int = Field(default=10, ge=2)  # sequential destinations that flag
    max_step: int = Field(default=10, ge=1)  # largest step between two sequential destinations


class SipSecuritySettings(BaseModel):
    """SIP-5: brute-force, scanner and flood defence of the SIP server (``[sip.security]``)."""

    max_auth_failures: int = Field(default=10, ge=0)  # failed digest authentications (0: never ban) ...
    failure_window_s: float = Field(default=60.0, gt=0)  # ... within this window ban the address
    ban_s: float = Field(default=600.0, ge=0)  # how long a ban lasts
    scanner_user_agents: list[str] | None = None  # None: the built-in list of known scanners
    rate_per_s: float = Field(default=50.0, ge=0)  # sustained messages/s per address (0: no limit)
    burst: int = Field(default=100, ge=1)  # messages an address may send at once


class SipSettings(BaseModel):
    """Where the SIP data plane listens, and its carrier side."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=5060, ge=0, le=65535)
    realm: str = "nuage.local"
    max_call_duration_s: int = 4 * 3600
    caller_id_mode: Literal["refuse", "replace"] = "refuse"  # SIP-2: a foreign caller ID on outbound
    hot_desk_timeout_hours: float = Field(default=12.0, gt=0, le=744)  # CFG-13: a login ends by itself
    # CAP-3: where channels are counted: "memory" (one SIP node) or "redis" (shared by several nodes)
    channels: Literal["memory", "redis"] = "memory"
    redis_url: str | None = None  # None: the API's Redis (``api.redis_url``)
    redis_key_prefix: str = "nuage:sip:"
    node_id: str | None = None  # stable id of this SIP node (None: a new one per start)
    channel_lease_s: float = Field(default=15.0, gt=0)  # a dead node's channels are reaped after this
    # digest nonces (issue #20): short-lived, bound to the client's address, counts per nonce kept
    # in "memory" (one SIP node) or "redis" (shared; the nodes then need the same nonce_secret)
    nonce_ttl_s: float = Field(default=60.0, gt=0, le=3600)
    nonce_bind_source: bool = True
    nonce_counts: Literal["memory", "redis"] = "memory"
    nonce_secret: str | None = None  # None: a random secret per start
    # TCP: idle connections closed, connections capped per source address and in all (the cap is
    # also kept under half the descriptors the process may open, so HTTP keeps some)
    tcp_idle_timeout_s: float = Field(default=900.0, gt=0)
    tcp_max_connections: int = Field(default=10_000, ge=1)
    tcp_max_connections_per_address: int = Field(default=100, ge=1)
    autodialer: SipAutoDialerSettings = SipAutoDialerSettings()
    security: SipSecuritySettings = SipSecuritySettings()


class ApiSettings(BaseModel):
    """The REST API (API-1..4): tokens, per-account limits and where the limit counters live."""

    token_ttl_s: int = Field(default=900, ge=30, le=86400)  # bearer tokens are short-lived
    default_max_reads: int = Field(default=10, ge=1)  # API-2: read requests in flight per account
    default_max_writes: int = Field(default=1, ge=1)  # API-2: write requests in flight per account
    limits_backend: str = "memory"  # "memory" (one web node) or "redis" (several web nodes)
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "nuage:api:"
    slot_lease_s: int = Field(default=60, ge=1)  # a crashed node's slots expire after this
    state_refresh_s: float = Field(default=1.0, gt=0)  # how often suspensions and limits are re-read
    # Single-item reads on the event loop (no worker-thread hop): "auto" does it on SQLite, whose WAL
    # readers never wait; over a network (PostgreSQL) a stall would hold the whole loop, so not there.
    inline_item_reads: str = "auto"  # "auto", "always" or "never"
    test_read_delay_ms: int = Field(default=0, ge=0)  # TESTS ONLY: hold every read this long
    test_write_delay_ms: int = Field(default=0, ge=0)  # TESTS ONLY: hold every write this long


def parse_host_port(value: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """Parse ``HOST:PORT``, ``[v6]:PORT`` or ``:PORT``; raise ValueError with the reason."""
    text = value.strip()
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"expected [IPV6]:PORT, got {value!r}")
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"expected HOST:PORT, got {value!r}")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"port must be 0..65535, got {port_text!r}")
    return (host or default_host), int(port_text)


class Settings(BaseSettings):
    """Everything the platform reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="NUAGE_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path(".nuage")
    database_url: str | None = None  # None: SQLite file in data_dir
    config_file: Path | None = None
    http: HttpSettings = HttpSettings()
    sip: SipSettings = SipSettings()
    api: ApiSettings = ApiSettings()
    secret_key: SecretStr | None = None  # None: generated once and kept in data_dir
    home_region: str = "BE"
    log_level: str = "INFO"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one, or a SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'nuage.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileValues(settings_cls))


class _FileValues(PydanticBaseSettingsSource):
    """The config file's values, below the environment; filled by ``load_settings``."""

    values: dict[str, Any] = {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML config file; its keys may sit at the top or under a ``[nuage]`` table."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    section = data.get("nuage", data)
    return dict(section) if isinstance(section, dict) else {}


def load_settings(**overrides: Any) -> Settings:
    """Defaults < config file < environment < ``overrides`` (the command-line flags)."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    _FileValues.values = {}
    first = Settings(**clean)
    path = first.config_file or first.data_dir / "nuage.toml"
    if not path.is_file():
        return first
    _FileValues.values = read_config_file(path)
    try:
        return Settings(**clean)
    finally:
        _FileValues.values = {}
