"""Reading directory and tenancy items one by one or a page at a time, inside the caller's tenant (TEN-4)."""

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
    offset: int = 0,
    where: Mapping[str, Any] | None = None,
) -> Page[T]:
    """TEN-4: a page of the items the caller may see; filtering on another tenant finds nothing."""
    filters = {k: v for k, v in (where or {}).items() if v is not None}
    visible = ctx.scope.visible_ids
    if visible is not None:
        wanted = filters.get(owner_field)
        if wanted is not None:
            if str(wanted) not in visible:
                return Page([], 0, limit, offset)
        elif len(visible) == 1:
            filters[owner_field] = next(iter(visible))  # a customer: equality, not IN (...)
        else:
            filters[owner_field] = sorted(visible)
    total = repo.count(**filters)
    items = repo.list(order_by=order_by, descending=descending, limit=limit, offset=offset, **filters)
    return Page(items, total, limit, offset)
