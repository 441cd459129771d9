"""The media plane's settings (``[sip.media]``), voicemail's (``[sip.voicemail]``) and virtual fax's
(``[sip.fax]``), part of the typed settings of ``nuage.config``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SipMediaSettings(BaseModel):
    """The media plane (issue #15, ``[sip.media]``): which engine anchored calls use, and when a
    call is anchored (always, or when the caller is behind NAT or a feature needs its audio)."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["embedded", "rtpengine", "none"] = "embedded"  # none: calls are never anchored
    always_anchor: bool = False  # every call's media through Nuage (else only when needed)
    anchor_nat: bool = True  # a caller whose SDP names another address than its packets'
    address: str = "127.0.0.1"  # embedded engine: the address it binds and advertises in SDP
    port_min: int = Field(default=30000, ge=1024, le=65535)
    port_max: int = Field(default=39999, ge=1024, le=65535)
    timeout_s: float = Field(default=30.0, gt=0, le=3600)  # a stream silent this long is reported
    # embedded engine: processes that relay the packets off the SIP loop (0: all in the SIP process)
    forwarder_processes: int = Field(default=1, ge=0, le=16)
    rtpengine_ng: str = "127.0.0.1:2223"  # rtpengine's NG control address (host:port)
    rtpengine_dtmf_log: str | None = None  # host:port its --dtmf-log-dest sends to (None: no DTMF)
    rtpengine_recording_dir: Path | None = None  # its --recording-dir (pcap); None: calls not recorded

    @model_validator(mode="after")
    def _range(self) -> SipMediaSettings:
        if self.port_max - self.port_min < 3:
            raise ValueError("the media port range needs at least two RTP/RTCP pairs")
        return self


class SipVoicemailSettings(BaseModel):
    """Voicemail (issue #16, ``[sip.voicemail]``): its feature codes, where messages are e-mailed
    from, where its prompts are generated, how often expired messages are deleted."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    deposit_code: str = Field(default="*98", pattern=r"^[*#0-9]{1,6}$")  # then the box's number
    retrieval_code: str = Field(default="*97", pattern=r"^[*#0-9]{1,6}$")  # the caller's own box
    smtp: str | None = None  # HOST:PORT of the mail server messages are e-mailed through (None: not)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    mail_from: str = "voicemail@nuage.local"
    prompts_dir: Path | None = None  # None: <data_dir>/media/prompts (generated at start, once)
    purge_every_s: float = Field(default=3600.0, gt=0)  # retention: expired messages deleted this often


class SipFaxSettings(BaseModel):
    """Virtual fax (CFG-7, ``[sip.fax]``): numbers leading to a virtual fax are answered by a T.30
    receiver (spandsp, Debian ``libspandsp2``) on the embedded media engine; received faxes are
    e-mailed as PDF through ``smtp`` (None: kept for the API only)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    smtp: str | None = None  # HOST:PORT of the mail server faxes are e-mailed through
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    mail_from: str = "fax@nuage.local"
    ident: str = Field(default="", max_length=20)  # the CSI the receiver announces (T.30: 20 chars)
    max_call_s: float = Field(default=1800.0, gt=0, le=7200)  # a fax call longer is cut
