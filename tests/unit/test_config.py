"""Settings: defaults < config file < environment < command-line flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuage.config import ConfigError, load_settings, parse_host_port


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


def test_an_unknown_key_in_the_file_is_refused_naming_it_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "nuage.toml"
    config.write_text("[sip]\nprot = 5070\n")
    monkeypatch.setenv("NUAGE_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value) == f"unknown setting sip.prot in {config}"


def test_an_unknown_top_level_key_in_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "nuage.toml").write_text('[nuage]\ndatabse_url = "postgresql://db.example/nuage"\n')
    with pytest.raises(ConfigError, match="unknown setting databse_url in"):
        load_settings(data_dir=tmp_path)


def test_a_bad_value_in_the_file_names_the_key_and_the_file(tmp_path: Path) -> None:
    config = tmp_path / "nuage.toml"
    config.write_text("[http]\nport = 70000\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(data_dir=tmp_path)
    assert str(raised.value).startswith(f"bad setting http.port in {config}: ")


@pytest.mark.parametrize("variable", ["NUAGE_SIP__PROT", "NUAGE_SIP__SECURITY__BAN", "NUAGE_DATABSE_URL"])
def test_an_unknown_variable_is_refused_naming_it(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "5070")
    with pytest.raises(ConfigError, match=f"unknown setting in the environment: {variable}"):
        load_settings(data_dir=tmp_path)


def test_a_bad_value_in_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUAGE_SIP__PORT", "five")
    with pytest.raises(ConfigError, match="bad setting environment variable NUAGE_SIP__PORT: "):
        load_settings(data_dir=tmp_path)


def test_variables_of_other_tools_are_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUAGE_SOMETHING_ELSE", "1")
    assert load_settings(data_dir=tmp_path).sip.port == 5060


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


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/nuage/nuage.db",
        "sqlite:///nuage.db",
        "postgresql://nuage@127.0.0.1:5432/nuage",
        "postgres://nuage:secret@db/nuage",
        "postgresql+psycopg://nuage@db/nuage?sslmode=require",
    ],
)
def test_database_urls_nuage_opens_are_accepted(url: str) -> None:
    assert load_settings(database_url=url).database_url == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("nonsense", "is not a database URL"),
        ("mysql://u@localhost/x", "mysql databases are not supported"),
        ("postgresql+asyncpg://u@h/x", "postgresql+asyncpg databases are not supported"),
        ("sqlite://nuage.db", "a SQLite URL names a file"),
    ],
)
def test_other_database_urls_are_refused_saying_what_to_write(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(database_url=url)
    assert str(refused.value).startswith("bad setting option database_url: ")
    assert problem in str(refused.value)
    assert "Value error" not in str(refused.value)
