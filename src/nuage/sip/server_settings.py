"""The SIP server's settings: one frozen object the entrypoint builds from ``nuage.config``."""

from __future__ import annotations

from dataclasses import dataclass, field

from nuage.sip.digest import NONCE_COUNTS_MAX
from nuage.sip.registrar import RegistrarSettings
from nuage.sip.security import SecuritySettings
from nuage.sip.tcp import TcpLimits
from nuage.sip.tls import TlsContexts


@dataclass(frozen=True, slots=True)
class SipSettings:
    """Everything the SIP server is configured with (read once by the entrypoint)."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 5060  # 0: let the OS choose (tests); UDP and TCP then share one port
    transports: tuple[str, ...] = ("UDP", "TCP")  # and "TLS" when ``tls`` is given
    tls: TlsContexts | None = None  # SIP over TLS on ``tls.port`` (RFC 3261 §26.2)
    advertised_host: str | None = None  # host in Via/Contact; default: listen_host
    realm: str = "nuage.local"  # digest realm and our SIP domain
    t1_s: float = 0.5
    t2_s: float = 4.0
    t4_s: float = 5.0
    nonce_ttl_s: float = 60.0
    nonce_bind_source: bool = True  # a nonce is good only from the address it was issued to
    nonce_secret: bytes | None = None  # shared by the nodes that share nonce counts (None: random)
    nonce_counts_max: int = NONCE_COUNTS_MAX  # live nonces whose counts are kept in memory
    tcp: TcpLimits = field(default_factory=TcpLimits)
    digest_algorithms: tuple[str, ...] = ("MD5",)  # challenges offered; see nuage.sip.digest.ALGORITHMS
    no_answer_timeout_s: float = 60.0
    max_call_duration_s: float | None = 4 * 3600.0
    max_application_duration_s: float = 3600.0  # a call a media application answered (issue #16)
    min_session_expires_s: int = 90
    registrar: RegistrarSettings = field(default_factory=RegistrarSettings)
    cdr_batch_size: int = 100
    cdr_flush_interval_ms: int = 1000
    user_agent: str = "Nuage"
    security: SecuritySettings = field(default_factory=SecuritySettings)  # SIP-5
    node_id: str | None = None  # names the node's call journal (None: machine, host and port)
    journal_flush_s: float = 0.5  # how often the call journal is written (and the node's sign of life)
