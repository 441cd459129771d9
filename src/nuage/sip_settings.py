"""Sections of the SIP settings that stand alone: the auto-dialer detector's thresholds (SIP-4,
``[sip.autodialer]``) and SIP over TLS (``[sip.tls]``); ``nuage.config`` assembles them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SipAutoDialerSettings(BaseModel):
    """SIP-4: the operator's thresholds of the auto-dialer detector (``[sip.autodialer]``)."""

    model_config = ConfigDict(extra="forbid")

    window_s: float = Field(default=60.0, gt=0)  # the sliding window the measures are taken over
    min_sample: int = Field(default=10, ge=1)  # attempts (and ended calls) before any verdict
    max_attempts_per_min: float = Field(default=30.0, gt=0)  # rate at which the pattern is looked at
    short_call_s: int = Field(default=10, ge=0)  # an answered call under this is short
    short_or_unanswered_share: float = Field(default=0.6, gt=0, le=1)  # share that flags
    sequential_run: int = Field(default=10, ge=2)  # sequential destinations that flag
    max_step: int = Field(default=10, ge=1)  # largest step between two sequential destinations


class SipTlsSettings(BaseModel):
    """SIP over TLS (``[sip.tls]``, RFC 3261 §26): its port and the certificate phones check."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    port: int | None = Field(default=None, ge=0, le=65535)  # None: the SIP port + 1 (5061; 0 when 0)
    certificate: Path | None = None  # PEM chain; None: a self-signed one made under <data-dir>/tls
    key: Path | None = None  # PEM: the private key of ``certificate`` (as ``http.tls``)
    ca_file: Path | None = None  # authorities of the peers we connect to (None: the system's)
    handshake_timeout_s: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _pair(self) -> SipTlsSettings:
        if (self.certificate is None) != (self.key is None):
            raise ValueError("give both sip.tls.certificate and sip.tls.key, or neither (self-signed)")
        return self

    def effective_port(self, sip_port: int) -> int:
        """The port TLS listens on: the one set, else the SIP port + 1 (0 stays 0: any free port)."""
        if self.port is not None:
            return self.port
        return 0 if sip_port == 0 else min(sip_port + 1, 65535)
