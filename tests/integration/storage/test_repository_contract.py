"""The in-memory unit of work behaves as the SQL one: the same checks run on memory, SQLite and
PostgreSQL, so a use-case test on the memory one proves what it would prove on a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nuage.directory.model import Role, User
from nuage.errors import NotFound
from nuage.tenancy.model import Party, PartyKind

T0 = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


def _account(uow: Any) -> Party:
    party = Party(id="cus_1", kind=PartyKind.CUSTOMER, name="Atelier", created_at=T0)
    uow.parties.add(party)
    return party


def _user(n: int, **fields: Any) -> User:
    return User(
        id=f"usr_{n}", account_id="cus_1", name=f"User {n}", created_at=T0 + timedelta(seconds=n), **fields
    )


def test_what_is_committed_is_read_back_and_what_is_not_is_forgotten(uow_factory: Any) -> None:
    with uow_factory() as uow:
        _account(uow)
        uow.users.add(_user(1))
        uow.commit()
        uow.users.add(_user(2))  # never committed
    with uow_factory() as uow:
        assert [user.id for user in uow.users.list()] == ["usr_1"]
        uow.users.add(_user(3))
        uow.rollback()
        assert uow.users.find("usr_3") is None


def test_filters_order_and_pages(uow_factory: Any) -> None:
    with uow_factory() as uow:
        _account(uow)
        for n in (3, 1, 2):
            uow.users.add(_user(n, role=Role.ADMINISTRATOR if n == 2 else Role.USER, extension=f"2{n}"))
        uow.users.add(_user(4))
        uow.commit()
    with uow_factory() as uow:
        assert [u.id for u in uow.users.list()] == ["usr_1", "usr_2", "usr_3", "usr_4"]
        assert [u.id for u in uow.users.list(descending=True, limit=2)] == ["usr_4", "usr_3"]
        assert [u.id for u in uow.users.list(limit=2, offset=1)] == ["usr_2", "usr_3"]
        assert [u.id for u in uow.users.list(role=Role.ADMINISTRATOR.value)] == ["usr_2"]
        assert [u.id for u in uow.users.list(extension=None)] == ["usr_4"]
        assert [u.id for u in uow.users.list(id=["usr_3", "usr_1", "usr_9"])] == ["usr_1", "usr_3"]
        assert [u.id for u in uow.users.list(order_by=("name",), descending=True)] == [
            "usr_4",
            "usr_3",
            "usr_2",
            "usr_1",
        ]
        assert uow.users.count(account_id="cus_1") == 4
        assert uow.users.count(role=[Role.USER.value]) == 3
        assert uow.users.find_by(extension="23") == uow.users.get("usr_3")
        found = uow.users.get("usr_2")
        assert (found.role, found.created_at) == (Role.ADMINISTRATOR, T0 + timedelta(seconds=2))


def test_an_object_read_changes_nothing_until_it_is_updated(uow_factory: Any) -> None:
    with uow_factory() as uow:
        _account(uow)
        uow.users.add(_user(1))
        uow.commit()
    with uow_factory() as uow:
        user = uow.users.get("usr_1")
        user.name = "Renamed"
        assert uow.users.get("usr_1").name == "User 1"
        uow.users.update(user)
        assert uow.users.get("usr_1").name == "Renamed"
        uow.users.remove("usr_1")
        with pytest.raises(NotFound):
            uow.users.get("usr_1")
        with pytest.raises(NotFound):
            uow.users.remove("usr_1")
        with pytest.raises(NotFound):
            uow.users.update(user)


def test_a_repository_taken_before_a_commit_writes_in_the_next_transaction(uow_factory: Any) -> None:
    with uow_factory() as uow:
        users = uow.users
        _account(uow)
        users.add(_user(1))
        uow.commit()
        users.add(_user(2))
        uow.commit()
        users.add(_user(3))
        uow.rollback()
        assert users.find("usr_3") is None
    with uow_factory() as uow:
        assert [user.id for user in uow.users.list()] == ["usr_1", "usr_2"]


@pytest.mark.parametrize("field", ["name", "extension", "email", "created_at"])
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_walk_the_whole_order_once(uow_factory: Any, field: str, descending: bool) -> None:
    """Each page starts after the last item of the previous one (sort value, then id), NULLs and
    ties included: walking the pages gives the order of the whole list, each item once."""
    with uow_factory() as uow:
        _account(uow)
        for n in range(1, 10):  # names tie in threes; every third has no extension and no e-mail
            extra = {} if n % 3 == 0 else {"extension": f"{n % 4}0{n}", "email": f"u{n % 5}{n}@x.example"}
            uow.users.add(replace(_user(n, **extra), name=f"Name {n % 3}", created_at=T0 + timedelta(n % 4)))
        uow.commit()
    order_by = (field, "id")
    with uow_factory() as uow:
        whole = [u.id for u in uow.users.list(order_by=order_by, descending=descending)]
        walked: list[str] = []
        after: tuple[Any, ...] | None = None
        while True:
            page = uow.users.list(order_by=order_by, descending=descending, limit=2, after=after)
            walked += [u.id for u in page]
            if len(page) < 2:
                break
            after = tuple(getattr(page[-1], name) for name in order_by)
    assert sorted(whole) == [f"usr_{n}" for n in range(1, 10)]
    assert walked == whole
