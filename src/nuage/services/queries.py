"""Reading directory and tenancy items one by one or a page at a time, inside the caller's tenant (TEN-4).

A page is found by keyset: the rows after the last one of the previous page in the list's order
(its sort value, then its id), so reading page 1,000 costs what page 1 costs; how many match in
all is counted only when asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from nuage.errors import NotFound
from nuage.services.context import Context
from nuage.services.ports import Repository

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and how many match in all."""

    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    """One page of items; ``after`` is where the next page starts (the last item's sort values),
    None on the last page; ``total`` is how many match in all, when it was asked for."""

    items: list[T]
    limit: int
    after: tuple[Any, ...] | None
    total: int | None = None


def get_visible(
    repo: Repository[T], ctx: Context, key: str, owner_field: str = "account_id", **where: Any
) -> T:
    """TEN-4: the item if its owner is inside the caller's scope, else NotFound, exactly as if absent."""
    item = repo.find(key)
    if item is None or not ctx.scope.can_see(str(getattr(item, owner_field))):
        raise NotFound(repo.kind, key)
    if any(getattr(item, name) != value for name, value in where.items()):
        raise NotFound(repo.kind, key)
    return item


def page_visible(
    repo: Repository[T],
    ctx: Context,
    *,
    owner_field: str = "account_id",
    order_by: Sequence[str] = ("created_at", "id"),
    descending: bool = False,
    limit: int = 50,
    after: Sequence[Any] | None = None,
    with_total: bool = False,
    where: Mapping[str, Any] | None = None,
) -> KeysetPage[T]:
    """TEN-4: a page of the items the caller may see, those after ``after`` (the sort values of
    the previous page's last item); filtering on another tenant finds nothing."""
    filters = {k: v for k, v in (where or {}).items() if v is not None}
    visible = ctx.scope.visible_ids
    if visible is not None:
        wanted = filters.get(owner_field)
        if wanted is not None:
            if str(wanted) not in visible:
                return KeysetPage([], limit, None, 0 if with_total else None)
        elif len(visible) == 1:
            filters[owner_field] = next(iter(visible))  # a customer: equality, not IN (...)
        else:
            filters[owner_field] = sorted(visible)
    total = repo.count(**filters) if with_total else None
    items = repo.list(order_by=order_by, descending=descending, limit=limit + 1, after=after, **filters)
    more = len(items) > limit
    del items[limit:]
    last = tuple(getattr(items[-1], name) for name in order_by) if more else None
    return KeysetPage(items, limit, last, total)
