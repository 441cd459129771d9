"""The support desk's settings (``[support]``, ``[provisioning]``, ``[telavox]``), part of the typed
settings of ``nuage.config``: the support address's e-mail (SUP-1), where provisioned desk phones
register (HW-1), and the Telavox upstream provider (BIL-8)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class SupportSettings(BaseModel):
    """SUP-1: the support desk's e-mail (``[support]``): the address, its listener, its outbox."""

    model_config = ConfigDict(extra="forbid")

    address: str = "support@nuage.example"  # receives the customers' e-mails and sends the desk's
    smtp_listen: str | None = None  # HOST:PORT of the listener `nuage serve` runs; None: no e-mail in
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=64 * 1024, le=25 * 1024 * 1024)
    smtp_relay: str | None = None  # HOST:PORT the desk's e-mails go through; None: they wait in the outbox
    mail_every_s: float = Field(default=10.0, gt=0, le=3600)  # how often the outbox is sent

    @field_validator("smtp_listen", "smtp_relay")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        from nuage.config import parse_host_port  # the one HOST:PORT parser (config imports this module)

        if value is not None:
            parse_host_port(value)
        return value


class ProvisioningSettings(BaseModel):
    """HW-1: where the provisioned desk phones register (``[provisioning]``); None: the SIP listener's."""

    model_config = ConfigDict(extra="forbid")

    sip_host: str | None = None  # the address phones reach (the SIP listener may be 0.0.0.0)
    sip_port: int | None = Field(default=None, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"


class TelavoxSettings(BaseModel):
    """BIL-8: the upstream provider of the Telavox resale (``[telavox]``).

    ``upstream``: "none" (the operator confirms activations by hand), "simulated" (the in-process
    stand-in: the demo), or "http" (the provisioning interface at ``base_url``)."""

    model_config = ConfigDict(extra="forbid")

    upstream: Literal["none", "simulated", "http"] = "none"
    base_url: str | None = None
    token: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    sync_every_s: float = Field(default=30.0, gt=0, le=3600)
