"""Settings: one typed object, read once in the entrypoint and passed down.

Layering, lowest first: defaults in code < ``<data-dir>/nuage.toml`` (or ``NUAGE_CONFIG_FILE``)
< environment (``NUAGE_*``, nested with ``__``) < command-line flags. Nothing else reads the
environment. A key no setting has (``[sip] prot = 5070``, ``NUAGE_SIP__PROT``) or a value a setting
refuses is a :class:`ConfigError` naming the key and where it came from (the file or the variable).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from nuage.janus_settings import JanusSettings
from nuage.media_settings import SipFaxSettings, SipMediaSettings, SipVoicemailSettings
from nuage.sip_settings import SipAutoDialerSettings, SipTlsSettings
from nuage.support_settings import ProvisioningSettings, SupportSettings, TelavoxSettings


class TlsSettings(BaseModel):
    """HTTPS for the web server: both files, or neither (plain HTTP, e.g. behind a TLS proxy)."""

    model_config = ConfigDict(extra="forbid")

    certificate: Path | None = None  # PEM: the certificate, then its chain
    key: Path | None = None  # PEM: the private key
    key_password: SecretStr | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> TlsSettings:
        if (self.certificate is None) != (self.key is None):
            raise ValueError("give both http.tls.certificate and http.tls.key, or neither")
        return self

    @property
    def enabled(self) -> bool:
        """Whether the web server speaks HTTPS."""
        return self.certificate is not None


class HttpSettings(BaseModel):
    """Where the web server (API, portal, health) listens."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    tls: TlsSettings = TlsSettings()


class SipSecuritySettings(BaseModel):
    """SIP-5: brute-force, scanner and flood defence of the SIP server (``[sip.security]``)."""

    model_config = ConfigDict(extra="forbid")

    max_auth_failures: int = Field(default=10, ge=0)  # failed digest authentications (0: never ban) ...
    failure_window_s: float = Field(default=60.0, gt=0)  # ... within this window ban the address
    ban_s: float = Field(default=600.0, ge=0)  # how long a ban lasts
    scanner_user_agents: list[str] | None = None  # None: the built-in list of known scanners
    rate_per_s: float = Field(default=50.0, ge=0)  # sustained messages/s per address (0: no limit)
    burst: int = Field(default=100, ge=1)  # messages an address may send at once
    # gateways exempt from every defence, each "IP:PORT" exactly (the carriers of the directory are
    # trusted at their address and port without being listed here)
    trusted: list[str] = Field(default_factory=list, max_length=1000)

    @field_validator("trusted")
    @classmethod
    def _exact_addresses(cls, values: list[str]) -> list[str]:
        exact = map(trusted_address, values)
        return [f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in exact]


class SipSettings(BaseModel):
    """Where the SIP data plane listens, and its carrier side."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=5060, ge=0, le=65535)
    realm: str = "nuage.local"
    max_call_duration_s: int = 4 * 3600
    # a call answered by a media application (voicemail, menu, room, fax) is hung up after this long
    max_application_duration_s: int = Field(default=3600, ge=10, le=4 * 3600)
    caller_id_mode: Literal["refuse", "replace"] = "refuse"  # SIP-2: a foreign caller ID on outbound
    hot_desk_timeout_hours: float = Field(default=12.0, gt=0, le=744)  # CFG-13: a login ends by itself
    # CAP-3: where channels are counted: "memory" (one SIP node) or "redis" (shared by several nodes)
    channels: Literal["memory", "redis"] = "memory"
    redis_url: str | None = None  # None: the API's Redis (``api.redis_url``)
    redis_key_prefix: str = "nuage:sip:"
    # stable id of this SIP node (None: its machine and address; a new one per start if its port is 0)
    node_id: str | None = None
    channel_lease_s: float = Field(default=15.0, gt=0)  # a dead node's channels are reaped after this
    # digest nonces (issue #20): short-lived, bound to the client's address, counts per nonce kept
    # in "memory" (one SIP node) or "redis" (shared; the nodes then need the same nonce_secret)
    nonce_ttl_s: float = Field(default=60.0, gt=0, le=3600)
    nonce_bind_source: bool = True
    nonce_counts: Literal["memory", "redis"] = "memory"
    # live nonces whose counts one node keeps (each for nonce_ttl_s): past that, answers on new
    # nonces are refused as stale until older ones expire (a live one is never forgotten); the
    # default is nuage.sip.digest.NONCE_COUNTS_MAX's (not imported: settings load without the SIP core)
    nonce_counts_max: int = Field(default=100_000, ge=1_000, le=10_000_000)
    nonce_secret: str | None = None  # None: a random secret per start
    # SIP-5: where bans are kept (over restarts): "database" (the nodes of one database share them)
    # or "redis" (shared through Redis); each node reads them back every bans_sync_s
    bans: Literal["database", "redis"] = "database"
    bans_sync_s: float = Field(default=2.0, gt=0, le=300)
    # TCP: idle connections closed, connections capped per source address and in all (the cap is
    # also kept under half the descriptors the process may open, so HTTP keeps some)
    tcp_idle_timeout_s: float = Field(default=900.0, gt=0)
    tcp_max_connections: int = Field(default=10_000, ge=1)
    tcp_max_connections_per_address: int = Field(default=100, ge=1)
    # issue #22: log the event loop's lateness every this many seconds (0: off; the benchmark sets it)
    loop_lag_report_s: float = Field(default=0.0, ge=0, le=3600)
    autodialer: SipAutoDialerSettings = SipAutoDialerSettings()
    security: SipSecuritySettings = SipSecuritySettings()
    media: SipMediaSettings = SipMediaSettings()
    voicemail: SipVoicemailSettings = SipVoicemailSettings()
    fax: SipFaxSettings = SipFaxSettings()  # CFG-7: virtual fax on the embedded media engine
    tls: SipTlsSettings = SipTlsSettings()


class LoginThrottleSettings(BaseModel):
    """Failed logins at ``/oauth/token`` slow their account and address down (``[api.login]``)."""

    model_config = ConfigDict(extra="forbid")

    free_failures_per_account_and_address: int = Field(default=5, ge=1)
    free_failures_per_account: int = Field(default=20, ge=1)  # from any address
    free_failures_per_address: int = Field(default=100, ge=1)  # on any account
    max_delay_s: float = Field(default=900.0, gt=0, le=86400)  # ceiling of the doubling wait
    max_delay_account_s: float = Field(default=60.0, gt=0, le=3600)  # short: no one locks a user out
    forget_after_s: float = Field(default=3600.0, gt=0)  # a counter quiet this long starts afresh


class ApiSettings(BaseModel):
    """The REST API (API-1..4): tokens, per-account limits and where the limit counters live."""

    model_config = ConfigDict(extra="forbid")

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
    login: LoginThrottleSettings = LoginThrottleSettings()  # shared in Redis when limits_backend is


class PaymentsSettings(BaseModel):
    """BIL-4/PAY-1/PAY-2: bank account, payment days, sender and dunning policy (``[payments]``).

    A setting left out (None) takes the default of the terms' rules (``services.einvoicing.PaymentSettings``,
    ``payments.dunning.DunningPolicy``); the composition root builds those from this.
    """

    model_config = ConfigDict(extra="forbid")

    iban: str | None = None  # where invoices are paid (default: the demo operator's account)
    bic: str | None = None
    account_holder: str | None = None  # default: the operator's name
    payment_days: int | None = Field(default=None, ge=0)  # PAY-1: invoices fall due this long after issue
    mail_from: str | None = None  # the sender of invoices and reminders
    reminder_days: list[int] | None = None  # PAY-1: days after the due date, e.g. [7, 14, 30]
    reminder_fees: list[Decimal] | None = None  # PAY-2: one fee per reminder
    interest_mode: Literal["per-started-month", "pro-rata", "per-day"] | None = None  # PAY-2
    suspend_after_days: int | None = Field(default=None, ge=0)  # PAY-1: after the last reminder
    auto_suspend: bool | None = None  # PAY-1: the daily job suspends by itself


class PortalSettings(BaseModel):
    """The portal's e-mails (password resets, ``[portal]``): the SMTP server, the sender, and the
    address its links start with (``public_url``; None: the address the request came to)."""

    model_config = ConfigDict(extra="forbid")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    mail_from: str = "portal@nuage.example"
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/\s]+$")


def trusted_address(value: str) -> tuple[str, int]:
    """SIP-5: a trusted gateway, ``IP:PORT`` (``[IPV6]:PORT``) exactly: no name, no missing port."""
    host, port = parse_host_port(value, default_host="")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"expected IP:PORT with an IP address, got {value!r}") from None
    if port == 0:
        raise ValueError(f"a trusted address needs its port, got {value!r}")
    return str(ip), port


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


_DATABASE_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)", re.DOTALL)
DATABASES = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg": "postgresql",
}
_URL_FORMS = "sqlite:///PATH/nuage.db or postgresql://USER@HOST:PORT/DATABASE"


def check_database_url(value: str) -> str:
    """A database URL Nuage can open (SQLite or PostgreSQL with the installed driver), else ValueError
    saying what to write instead."""
    match = _DATABASE_URL.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value[:60]!r} is not a database URL; write {_URL_FORMS}")
    scheme = match.group("scheme").lower()
    if scheme not in DATABASES:
        raise ValueError(f"{scheme} databases are not supported; use {_URL_FORMS}")
    if DATABASES[scheme] == "sqlite" and not match.group("rest").startswith("/"):
        raise ValueError(f"a SQLite URL names a file: sqlite:///PATH/nuage.db, not {value[:60]!r}")
    return value.strip()


class Settings(BaseSettings):
    """Everything the platform reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="NUAGE_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path(".nuage")
    database_url: str | None = None  # None: SQLite file in data_dir
    config_file: Path | None = None
    http: HttpSettings = HttpSettings()
    sip: SipSettings = SipSettings()
    api: ApiSettings = ApiSettings()
    payments: PaymentsSettings = PaymentsSettings()
    janus: JanusSettings = JanusSettings()  # MTG-1: Web Meeting and browser calls
    portal: PortalSettings = PortalSettings()
    support: SupportSettings = SupportSettings()
    provisioning: ProvisioningSettings = ProvisioningSettings()
    telavox: TelavoxSettings = TelavoxSettings()
    einvoice_workers: int | None = Field(default=None, ge=1)  # BIL-4: validation processes; None: CPUs
    secret_key: SecretStr | None = None  # None: generated once and kept in data_dir
    home_region: str = "BE"
    log_level: str = "INFO"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        return None if value is None else check_database_url(value)

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


class ConfigError(ValueError):
    """The settings cannot be loaded: the message names the key and where it was set."""


def _unknown_keys(model: type[BaseModel], values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of the keys in ``values`` that no setting of ``model`` has."""
    unknown: list[str] = []
    for key, value in values.items():
        field = model.model_fields.get(key)
        if field is None:
            unknown.append(prefix + key)
            continue
        inner = field.annotation
        if isinstance(value, Mapping) and isinstance(inner, type) and issubclass(inner, BaseModel):
            unknown.extend(_unknown_keys(inner, value, f"{prefix}{key}."))
    return unknown


def _variable(dotted: str) -> str:
    return "NUAGE_" + dotted.replace(".", "__").upper()


def _known_variables(model: type[BaseModel], prefix: str = "") -> list[str]:
    names: list[str] = []
    for key, field in model.model_fields.items():
        inner = field.annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            names.extend(_known_variables(inner, f"{prefix}{key}."))
        else:
            names.append(_variable(prefix + key))
    return names


def _check_environment(environ: Mapping[str, str]) -> None:
    """Refuse a ``NUAGE_*`` variable that looks meant for a setting none has: one nested under a
    section (``NUAGE_SIP__PROT``) or one spelt close to a setting's (``NUAGE_DATABSE_URL``). Other
    ``NUAGE_*`` variables are left alone: they belong to other tools (the test harness)."""
    known = _known_variables(Settings)
    sections = {name for name, field in Settings.model_fields.items() if _is_section(field.annotation)}
    for raw in environ:
        name = raw.upper()
        if not name.startswith("NUAGE_") or name in known:
            continue
        head, nested, _ = name[len("NUAGE_") :].partition("__")
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if (nested and head.lower() in sections) or close:
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown setting in the environment: {raw}{hint}")


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _where(
    loc: tuple[int | str, ...], flags: Mapping[str, Any], environ: Mapping[str, str], path: Path
) -> str:
    dotted = ".".join(str(part) for part in loc)
    if str(loc[0]) in flags:
        return f"option {dotted}"
    variable = _variable(dotted)
    if any(name.upper() == variable for name in environ):
        return f"environment variable {variable}"
    return f"{dotted} in {path}"


def _settings(flags: Mapping[str, Any], environ: Mapping[str, str], path: Path) -> Settings:
    try:
        return Settings(**flags)
    except ValidationError as exc:
        problem = exc.errors()[0]
        if problem["type"] == "extra_forbidden":
            raise ConfigError(f"unknown setting {_where(problem['loc'], flags, environ, path)}") from None
        where = _where(problem["loc"], flags, environ, path)
        message = problem["msg"].removeprefix("Value error, ")  # a validator's own words
        raise ConfigError(f"bad setting {where}: {message}") from None


def load_settings(**overrides: Any) -> Settings:
    """Defaults < config file < environment < ``overrides`` (the command-line flags); raise
    :class:`ConfigError` for a key no setting has, or a value refused, naming where it was set."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    environ = dict(os.environ)
    _check_environment(environ)
    _FileValues.values = {}
    first = _settings(clean, environ, Path("nuage.toml"))
    path = first.config_file or first.data_dir / "nuage.toml"
    if not path.is_file():
        return first
    try:
        values = read_config_file(path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = _unknown_keys(Settings, values)
    if unknown:
        raise ConfigError(f"unknown setting {', '.join(unknown)} in {path}")
    _FileValues.values = values
    try:
        return _settings(clean, environ, path)
    finally:
        _FileValues.values = {}
