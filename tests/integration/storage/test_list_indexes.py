"""A page of a list is read off an index in the list's order, whatever the tenant's size (no sort
of every row of the account): the query plans of the users' pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from nuage.bootstrap import Platform
from nuage.services.demo import load_demo


def _page_statement(platform: Platform, field: str, descending: bool) -> tuple[str, Any]:
    """The SQL (and parameters) of the second page of 20 of one account's users by ``field``."""
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        uow.commit()
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    with platform.uow() as uow:
        # a user with a value for ``field`` (ids are random: the first one found may have none, and
        # a page after a user without a value is the other query, of the items without one)
        first = next(user for user in uow.users.list(order_by=("id",)) if getattr(user, field) is not None)
        event.listen(platform.engine, "before_cursor_execute", capture)
        try:
            uow.users.list(
                order_by=(field, "id"),
                descending=descending,
                limit=21,
                after=(getattr(first, field), first.id),
                account_id=first.account_id,
            )
        finally:
            event.remove(platform.engine, "before_cursor_execute", capture)
    return seen[0]  # the page's range (items without a value, read apart, come after)


@pytest.mark.parametrize("field", ["name", "created_at", "extension", "email"])
@pytest.mark.parametrize("descending", [False, True])
def test_a_page_of_users_is_read_off_the_index_of_its_order(
    platform: Platform, field: str, descending: bool
) -> None:
    statement, parameters = _page_statement(platform, field, descending)
    with platform.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")  # a demo's rows fit one page
            plan = "\n".join(connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
            assert "Sort" not in plan, plan
            if field in ("name", "created_at"):  # never NULL: the page starts by its value, no scan
                assert any("Index Cond" in line and field in line for line in plan.splitlines()), plan
        else:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plan = "\n".join(str(row[-1]) for row in rows)
            assert "TEMP B-TREE" not in plan, plan
    assert f"ix_users_account_{field}" in plan, plan
