"""SIP-5 (and SIP-4, CAP-3) settings read from nuage.toml and NUAGE_* and wired into the SIP plane."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuage.adapters.redis_bans import RedisBanStore
from nuage.adapters.redis_channels import RedisChannels
from nuage.bootstrap import SipRuntime, build_platform
from nuage.config import ConfigError, load_settings
from nuage.policy import AutoDialerThresholds, ChannelCounter
from nuage.sip.security import KNOWN_SCANNERS
from nuage.storage.sql.sip_bans import SqlBanStore
from sip.unit.test_security import at, request

TOML = """
[sip]
channels = "redis"
node_id = "sip-node-7"
bans = "redis"
channel_lease_s = 9

[sip.security]
max_auth_failures = 3
ban_s = 120
scanner_user_agents = ["evil-dialer"]
rate_per_s = 5
burst = 8
trusted = ["192.0.2.5:5060", "[2001:db8:0::5]:5080"]

[sip.autodialer]
min_sample = 4
max_attempts_per_min = 12
sequential_run = 5
"""


def _runtime(tmp_path: Path) -> SipRuntime:
    """The SIP plane wired from the settings (not started: nothing listens)."""
    settings = load_settings(data_dir=tmp_path)
    platform = build_platform(settings, migrate=True)
    platform.close()  # the wiring is all we look at; nothing reads the database here
    return SipRuntime(platform)


@pytest.mark.rule("SIP-5")
@pytest.mark.rule("SIP-4")
async def test_the_security_and_auto_dialer_settings_come_from_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NUAGE_DATABASE_URL", "NUAGE_CONFIG_FILE", "NUAGE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "nuage.toml").write_text(TOML)
    monkeypatch.setenv("NUAGE_SIP__SECURITY__BAN_S", "30")  # the environment wins over the file
    runtime = _runtime(tmp_path)
    guard = runtime.server.security
    settings = guard.settings
    assert (settings.max_auth_failures, settings.ban_s, settings.rate_per_s, settings.burst) == (3, 30, 5, 8)
    assert settings.scanner_user_agents == ("evil-dialer",)
    assert runtime.policy.autodialer.thresholds == AutoDialerThresholds(
        min_sample=4, max_attempts_per_min=12, sequential_run=5
    )
    channels = runtime.policy.channels
    assert isinstance(channels, RedisChannels)
    assert channels.node_id == "sip-node-7"
    # the guard behaves as configured: 3 failures ban, the configured scanner is dropped
    for _ in range(3):
        guard.record_auth_failure("198.51.100.9")
    assert [ban.address for ban in guard.bans()] == ["198.51.100.9"]
    assert 29 < guard.bans()[0].remaining_s <= 30
    assert not guard.admit(request("Evil-Dialer/1.0"), at("198.51.100.10"))
    assert guard.admit(request("friendly-scanner"), at("198.51.100.11"))  # the list was replaced
    # trusted gateways: exactly the address and port configured
    assert settings.trusted == (("192.0.2.5", 5060), ("2001:db8::5", 5080))
    assert guard.trusted(at("192.0.2.5", 5060))
    assert not guard.trusted(at("192.0.2.5", 5062))
    assert isinstance(runtime.ban_store, RedisBanStore)  # bans shared through Redis


@pytest.mark.rule("SIP-5")
async def test_by_default_the_guard_keeps_its_thresholds_and_channels_are_counted_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NUAGE_DATABASE_URL", "NUAGE_CONFIG_FILE", "NUAGE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    runtime = _runtime(tmp_path)
    settings = runtime.server.security.settings
    assert (settings.max_auth_failures, settings.failure_window_s, settings.ban_s) == (10, 60.0, 600.0)
    assert settings.scanner_user_agents == KNOWN_SCANNERS
    assert isinstance(runtime.policy.channels, ChannelCounter)
    assert runtime.policy.autodialer.thresholds == AutoDialerThresholds()
    assert settings.trusted == ()
    assert isinstance(runtime.ban_store, SqlBanStore)  # bans kept in the database


@pytest.mark.rule("SIP-5")
@pytest.mark.parametrize("value", ["192.0.2.5", "192.0.2.5:0", "carrier.example:5060", ":5060"])
def test_a_trusted_address_is_an_ip_and_a_port_or_the_settings_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    for name in ("NUAGE_DATABASE_URL", "NUAGE_CONFIG_FILE", "NUAGE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "nuage.toml").write_text(f'[sip.security]\ntrusted = ["{value}"]\n')
    with pytest.raises(ConfigError, match="trusted"):
        load_settings(data_dir=tmp_path)
