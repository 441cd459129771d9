"""SIP over TLS: its settings (``[sip.tls]``) and the demo's self-signed certificate."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from nuage.config import ConfigError, load_settings
from nuage.sip.tls_certs import demo_certificate, fingerprint, server_context


def test_the_demo_certificate_is_made_once_and_names_the_host(tmp_path: Path) -> None:
    pair = demo_certificate(tmp_path / "tls", ("sip.example.test",))
    assert pair.generated
    assert stat.S_IMODE(pair.private_key.stat().st_mode) == 0o600
    made = pair.certificate.read_bytes()
    assert demo_certificate(tmp_path / "tls", ("sip.example.test",)).certificate.read_bytes() == made
    names = x509.load_pem_x509_certificate(made).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "sip.example.test" in names.value.get_values_for_type(x509.DNSName)
    assert isinstance(server_context(pair), ssl.SSLContext)
    assert len(fingerprint(pair.certificate).split(":")) == 32


def test_tls_listens_on_the_sip_port_plus_one_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NUAGE_SIP__TLS__PORT", raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.sip.tls.enabled
    assert settings.sip.tls.effective_port(5060) == 5061
    assert settings.sip.tls.effective_port(0) == 0
    monkeypatch.setenv("NUAGE_SIP__TLS__PORT", "5071")
    assert load_settings(data_dir=tmp_path).sip.tls.effective_port(5060) == 5071


def test_an_unknown_tls_key_is_refused_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "nuage.toml"
    config.write_text('[sip.tls]\ncertficate = "/etc/nuage/sip.pem"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(data_dir=tmp_path)
    assert str(raised.value) == f"unknown setting sip.tls.certficate in {config}"


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "nuage.toml").write_text('[sip.tls]\ncertificate = "/etc/nuage/sip.pem"\n')
    with pytest.raises(ConfigError, match=r"bad setting sip\.tls in .*sip\.tls\.key"):
        load_settings(data_dir=tmp_path)
