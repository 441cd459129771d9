"""How every collection of the API pages: by keyset, with an opaque cursor, the total on request.

A page answers ``{"items": [...], "limit": n, "next": cursor-or-null}`` (and ``"total"`` only when
the request says ``total=true``: counting every match is what made a page's cost grow with the
tenant). ``next`` is passed back as ``cursor`` with the same order, direction and filters. A
collection stored as rows carries the sort values of the page's last item in its cursor (the next
page is read by those values, through an index); a small collection built in memory carries the
position of its next page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, create_model

from nuage.errors import InvalidInput

MAX_CURSOR = 512  # characters; a cursor holds one sort value and one id


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if value is None or isinstance(value, (str, int, float)):
        return value  # a StrEnum is a str: its value
    raise TypeError(f"cannot page by a {type(value).__name__}")


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if isinstance(text, str):
            if tag == "t":
                found = datetime.fromisoformat(text)
                if found.tzinfo is None:
                    raise ValueError("naive instant")
                return found
            if tag == "d":
                return date.fromisoformat(text)
            if tag == "n":
                return Decimal(text)
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise ValueError("not a sort value")


def encode(where: str, values: Sequence[Any]) -> str:
    """The opaque cursor of a position: ``where`` names the order it belongs to."""
    text = json.dumps([where, [_plain(value) for value in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str, where: str, size: int) -> tuple[Any, ...]:
    """The position in ``cursor``, which must belong to the order ``where``; else InvalidInput."""
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("too long")
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[1], list):
            raise ValueError("not a cursor")
        if raw[0] != where:
            raise ValueError("another order")
        values = tuple(_typed(value) for value in raw[1])
        if len(values) != size:
            raise ValueError("not a cursor")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "cursor", "cursor is the `next` of a previous page with the same order and direction"
        ) from exc
    return values


def refuse_offset(query: Mapping[str, str]) -> None:
    """A client still paging by ``offset`` would read the first page again and again: 422."""
    if "offset" in query:
        raise InvalidInput("offset", "lists page by cursor: pass the `next` of the previous page as `cursor`")


def envelope(rows: bytes, limit: int, next_cursor: str | None, total: int | None) -> bytes:
    """The page's JSON from its items' JSON, built without a second serialisation pass."""
    body = b'{"items":[' + rows + b'],"limit":%d,"next":' % limit
    body += b"null" if next_cursor is None else json.dumps(next_cursor).encode()
    if total is not None:
        body += b',"total":%d' % total
    return body + b"}"


def listed(items: list[Any], limit: int, cursor: str | None, where: str) -> tuple[list[Any], str | None]:
    """The page of a collection filtered and ordered in memory (small collections that are not
    rows of one table: built-in emergency numbers, live sessions, usage counters) and its next
    cursor (the position after it)."""
    start = 0 if cursor is None else decode(cursor, where, 1)[0]
    if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start <= len(items):
        raise InvalidInput("cursor", "cursor is the `next` of a previous page")
    end = start + limit
    return items[start:end], (encode(where, [end]) if end < len(items) else None)


def page_model(out: type[BaseModel]) -> type[BaseModel]:
    """The page envelope schema for ``out``."""
    noun = out.__name__.removesuffix("Out")
    return create_model(
        noun + "Page",
        items=(list[out], ...),  # type: ignore[valid-type]
        limit=(int, ...),
        next=(str | None, ...),
        total=(int | None, None),
        __doc__=(
            f"A page of {noun} items; `next` is the cursor of the following page (null on the last), "
            "`total` how many match in all (only when asked for with `total=true`)."
        ),
    )
