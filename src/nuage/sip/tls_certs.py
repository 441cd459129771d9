"""Certificates of SIP over TLS: the TLS contexts, and the self-signed certificate of the demo.

The operator's certificate and key come from settings (``[sip.tls]``). Without them, a
self-signed certificate is generated once (``cryptography``: EC P-256, valid ten years, for the
advertised host, ``localhost`` and loopback) and kept under the data directory, so phones that
pinned it keep working across restarts. Generating and loading are blocking file and CPU work:
callers run them in a worker thread (``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nuage.sip.tls import TlsContexts

DEMO_CERTIFICATE = "sip-tls.crt"
DEMO_PRIVATE_KEY = "sip-tls.key"


@dataclass(frozen=True, slots=True)
class CertificatePair:
    """A PEM certificate (chain) and its private key; ``generated``: the demo's self-signed one."""

    certificate: Path
    private_key: Path
    generated: bool = False


def demo_certificate(
    folder: Path, hosts: tuple[str, ...], *, now: dt.datetime | None = None
) -> CertificatePair:
    """The self-signed certificate under ``folder`` (made when missing); blocking: run in a thread."""
    pair = CertificatePair(folder / DEMO_CERTIFICATE, folder / DEMO_PRIVATE_KEY, generated=True)
    if pair.certificate.is_file() and pair.private_key.is_file():
        return pair
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names = list(dict.fromkeys((*hosts, "localhost", "127.0.0.1", "::1")))
    alternatives: list[x509.GeneralName] = []
    for host in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alternatives.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(pair.private_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key_pem)
    pair.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return pair


def server_context(pair: CertificatePair) -> ssl.SSLContext:
    """The context of accepted connections: TLS 1.2 or newer, no client certificate asked."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pair.certificate, pair.private_key)
    return context


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """The context of connections we open (a carrier, a phone's lost flow): the peer's certificate
    is verified against ``ca_file`` or the system's authorities, and must name the host."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class CertificateError(ValueError):
    """A certificate, key or authorities file of SIP over TLS cannot be loaded (the message names it)."""


class TlsOptions(Protocol):
    """What SIP over TLS is configured with (``[sip.tls]``)."""

    certificate: Path | None
    key: Path | None
    ca_file: Path | None
    handshake_timeout_s: float


def tls_setup(
    options: TlsOptions, *, demo_folder: Path, hosts: tuple[str, ...], port: int
) -> tuple[TlsContexts, CertificatePair]:
    """The TLS transport's contexts: the operator's certificate, else the demo's self-signed one
    (made once in ``demo_folder``); blocking, so run in a worker thread. Raises CertificateError."""
    if options.certificate is not None and options.key is not None:
        pair = CertificatePair(options.certificate.expanduser(), options.key.expanduser())
    else:
        pair = demo_certificate(demo_folder, hosts)
    try:
        server = server_context(pair)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise CertificateError(f"cannot load {pair.certificate}: {exc}") from None
    ca_file = options.ca_file.expanduser() if options.ca_file else None
    try:
        client = client_context(ca_file)
    except (OSError, ValueError) as exc:
        raise CertificateError(f"cannot load {ca_file}: {exc}") from None
    return TlsContexts(server, client, port=port, handshake_timeout_s=options.handshake_timeout_s), pair


def fingerprint(path: Path) -> str:
    """The SHA-256 fingerprint of a PEM certificate (``AB:CD:...``), for an operator to pin it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()
