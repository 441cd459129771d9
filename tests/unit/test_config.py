"""Settings: defaults < config file < environment < command-line flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuage.config import load_settings, parse_host_port


def test_defaults_use_sqlite_in_the_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUAGE_DATABASE_URL", raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'nuage.db').resolve()}"
    assert (settings.http.port, settings.sip.port) == (8080, 5060)


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "nuage.toml").write_text(
        '[nuage]\nlog_level = "DEBUG"\n[nuage.http]\nport = 9000\n[nuage.sip]\nport = 5070\n'
    )
    monkeypatch.setenv("NUAGE_DATA_DIR", str(tmp_path))
    from_file = load_settings()
    assert (from_file.http.port, from_file.sip.port, from_file.log_level) == (9000, 5070, "DEBUG")
    monkeypatch.setenv("NUAGE_SIP__PORT", "5080")
    from_env = load_settings()
    assert (from_env.http.port, from_env.sip.port) == (9000, 5080)
    from_flag = load_settings(log_level="WARNING")
    assert from_flag.log_level == "WARNING"


def test_a_config_file_named_in_the_environment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('database_url = "postgresql://db.example/nuage"\n')
    monkeypatch.setenv("NUAGE_CONFIG_FILE", str(config))
    assert load_settings(data_dir=tmp_path / "data").effective_database_url == "postgresql://db.example/nuage"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:8080", ("127.0.0.1", 8080)), (":5060", ("127.0.0.1", 5060)), ("[::1]:5070", ("::1", 5070))],
)
def test_host_port_parsing(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["localhost", "host:http", "host:70000", "[::1]5060"])
def test_malformed_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="PORT|port"):
        parse_host_port(text)
