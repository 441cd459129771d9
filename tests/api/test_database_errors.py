"""The database's refusals reach the API and the CLI as errors of the tree, never as SQLAlchemy's."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netports import free_port
from nuage.bootstrap import Platform, build_platform
from nuage.cli import app as cli
from nuage.config import Settings
from nuage.directory.model import User
from nuage.errors import Conflict, UpstreamUnavailable
from nuage.shared.clock import FrozenClock
from nuage.tenancy.model import Party, PartyKind


def _customer(platform: Platform) -> Party:
    party = Party("cus_clash", PartyKind.CUSTOMER, "Clash & Co", platform.clock.now())
    with platform.uow() as uow:
        uow.parties.add(party)
        uow.commit()
    return party


def _user(party: Party, user_id: str, extension: str) -> User:
    return User(user_id, party.id, f"User {user_id}", party.created_at, extension=extension)


def test_a_unique_clash_is_a_conflict_naming_the_fields(platform: Platform) -> None:
    party = _customer(platform)
    with platform.uow() as uow:
        uow.users.add(_user(party, "usr_first", "101"))
        uow.commit()
    with pytest.raises(Conflict) as raised, platform.uow() as uow:
        uow.users.add(_user(party, "usr_second", "101"))  # the same extension in the same account
    assert raised.value.details == {"table": "users", "field": "account_id, extension"}
    assert raised.value.message == "The change clashes with existing data"
    with platform.uow() as uow:  # the clash wrote nothing
        assert [u.id for u in uow.users.list(account_id=party.id)] == ["usr_first"]


def test_a_duplicate_key_is_a_conflict_naming_the_key(platform: Platform) -> None:
    party = _customer(platform)
    with pytest.raises(Conflict) as raised, platform.uow() as uow:
        uow.parties.add(party)
    assert raised.value.details == {"table": "parties", "field": "id"}


def test_a_reference_to_nothing_is_a_conflict(platform: Platform) -> None:
    ghost = Party("cus_ghost", PartyKind.CUSTOMER, "Ghost", platform.clock.now())
    with pytest.raises(Conflict, match="does not exist"), platform.uow() as uow:
        uow.users.add(_user(ghost, "usr_ghost", "102"))


def _unreachable(tmp_path: Path, clock: FrozenClock) -> Platform:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nuage?connect_timeout=5"
    return build_platform(Settings(data_dir=tmp_path, database_url=url), clock=clock)


def test_an_unreachable_database_is_upstream_unavailable(tmp_path: Path, clock: FrozenClock) -> None:
    platform = _unreachable(tmp_path, clock)
    try:
        with pytest.raises(UpstreamUnavailable) as raised, platform.uow():
            pass
        assert raised.value.details == {"upstream": "database"}
    finally:
        platform.close()


def test_the_cli_says_what_is_wrong_and_what_to_do_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nuage?connect_timeout=5"
    result = CliRunner().invoke(cli, ["db", "upgrade", "--data-dir", str(tmp_path), "--database-url", url])
    assert result.exit_code == 2
    what, to_do = result.output.strip().splitlines()  # what is wrong, and what to do
    assert what.startswith(f"error: the database at {url} cannot be reached (")
    assert "Connection refused" in what
    assert to_do.strip().startswith("is the database server running? Start it")
