"""TOTP secrets are sealed at rest under a key derived from the platform's secret_key: the table
holds no secret in clear, the code still reads them, and migration 0032_portal seals the ones kept
in clear before it (and opens them again going back)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, update

from api.support import seed_demo
from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.services.security import second_factor as second
from nuage.services.security.demo import DEMO_SECRETS, seed_demo_factors
from nuage.storage.sql.migrate import alembic_config, upgrade
from nuage.storage.sql.sealing import SealingUnavailable
from nuage.storage.sql.security_tables import user_second_factors

OLIVIA = "olivia@nuage.example"
KEY = "sealing-test-key-0123456789abcdef"


def _with_factors(platform: Platform) -> str:
    """The demo with its administrators' second factors; Olivia's user id."""
    seed_demo(platform)
    with platform.uow() as uow:
        seed_demo_factors(uow, platform.clock.now())
        uow.commit()
        olivia = uow.users.find_by(email=OLIVIA)
        assert olivia is not None
        return olivia.id


def _stored(platform: Platform, user_id: str) -> str:
    with platform.engine.connect() as connection:
        query = select(user_second_factors.c.secret).where(user_second_factors.c.user_id == user_id)
        value: str = connection.execute(query).scalar_one()
        return value


def test_a_second_factor_is_kept_sealed_and_read_back(platform: Platform) -> None:
    olivia = _with_factors(platform)
    stored = _stored(platform, olivia)
    assert stored.startswith("v1:")
    assert DEMO_SECRETS[OLIVIA] not in stored
    with platform.uow() as uow:
        factor = second.factor_of(uow, olivia)
        assert factor is not None
        assert factor.secret == DEMO_SECRETS[OLIVIA]
        code = second.code_at(factor.secret, platform.clock.now())
        assert second.matching_step(factor.secret, code, platform.clock.now(), 0) is not None


def test_the_migration_seals_the_secrets_kept_in_clear_and_opens_them_going_back(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=KEY)
    platform = build_platform(settings, migrate=True)
    url = settings.effective_database_url
    try:
        olivia = _with_factors(platform)
        config = alembic_config(url)
        config.attributes["secret_key"] = KEY
        command.downgrade(config, "0031_fax")  # before sealing: the secret in clear
        assert _stored(platform, olivia) == DEMO_SECRETS[OLIVIA]
        upgrade(url, secret_key=KEY)
        stored = _stored(platform, olivia)
        assert stored.startswith("v1:")
        assert DEMO_SECRETS[OLIVIA] not in stored
        with platform.uow() as uow:
            factor = second.factor_of(uow, olivia)
            assert factor is not None
            assert factor.secret == DEMO_SECRETS[OLIVIA]
    finally:
        platform.close()


def test_a_secret_kept_in_clear_still_opens_and_another_key_opens_none(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=KEY)
    platform = build_platform(settings, migrate=True)
    try:
        olivia = _with_factors(platform)
        with platform.engine.begin() as connection:  # as a migration run without the key left it
            connection.execute(
                update(user_second_factors)
                .where(user_second_factors.c.user_id == olivia)
                .values(secret=DEMO_SECRETS[OLIVIA])
            )
        with platform.uow() as uow:
            factor = second.factor_of(uow, olivia)
            assert factor is not None
            assert factor.secret == DEMO_SECRETS[OLIVIA]
    finally:
        platform.close()
    other = build_platform(Settings(data_dir=tmp_path, secret_key="another-key-0123456789abcdef"))
    try:
        with other.uow() as uow:
            pierre = uow.users.find_by(email="pierre@bruvoice.example")
            assert pierre is not None
            with pytest.raises(SealingUnavailable):
                second.factor_of(uow, pierre.id)
    finally:
        other.close()
