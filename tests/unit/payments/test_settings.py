"""PAY-1/PAY-2/BIL-4: ``[payments]`` of ``nuage.toml`` and ``NUAGE_EINVOICE_WORKERS``, read by config."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from nuage.config import ConfigError, load_settings
from nuage.payment_wiring import payment_settings
from nuage.payments.dunning import DunningPolicy, InterestMode
from nuage.services.einvoicing import PaymentSettings, validation_workers


@pytest.mark.rule("PAY-1")
@pytest.mark.rule("PAY-2")
def test_the_payments_section_becomes_the_use_cases_settings(tmp_path: Path) -> None:
    (tmp_path / "nuage.toml").write_text(
        "[payments]\n"
        'iban = "BE71096123456769"\n'
        "payment_days = 15\n"
        "reminder_days = [10, 20]\n"
        'reminder_fees = ["0", "12.5"]\n'
        'interest_mode = "pro-rata"\n'
        "auto_suspend = true\n"
    )
    settings = payment_settings(load_settings(data_dir=tmp_path))
    assert settings.iban == "BE71096123456769"
    assert settings.bic == PaymentSettings().bic  # left out: the default
    assert settings.payment_days == 15
    assert settings.policy == DunningPolicy(
        reminder_days=(10, 20),
        reminder_fees=(Decimal(0), Decimal("12.5")),
        interest_mode=InterestMode.PRO_RATA,
        auto_suspend=True,
    )


def test_nothing_configured_keeps_the_defaults(tmp_path: Path) -> None:
    assert payment_settings(load_settings(data_dir=tmp_path)) == PaymentSettings()


def test_an_unknown_payments_setting_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "nuage.toml").write_text('[payments]\nibna = "BE71096123456769"\n')
    with pytest.raises(ConfigError, match=r"unknown setting payments\.ibna in .*nuage\.toml"):
        load_settings(data_dir=tmp_path)


@pytest.mark.rule("BIL-4")
def test_the_validation_workers_come_from_the_environment_through_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUAGE_EINVOICE_WORKERS", "3")
    settings = payment_settings(load_settings(data_dir=tmp_path))
    assert validation_workers(settings) == 3
    assert validation_workers(PaymentSettings()) >= 1
