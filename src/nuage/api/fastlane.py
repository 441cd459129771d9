"""The hot read path: ``GET /{collection}/{id}`` and plain ``GET /{collection}`` served right after
the gate, without the framework's routing and dependency machinery, by the very ``work`` function
the documented route uses (so the answers, the ETag/304 of API-4 and the TEN-4 404s are the same
bytes either way).

An item read first runs over the unit of work the platform's :class:`~nuage.services.ports.KeyReader`
makes from rows fetched beforehand: the one row it needs is fetched by primary key (on SQLite, on the
event loop; on PostgreSQL, on an asynchronous connection, so the loop serves other requests while
the database answers), and the work runs over it. A work that needs anything else (a partner's
scope, a custom lookup) runs on a real unit of work, as lists do: on SQLite on the event loop
(setting ``api.inline_item_reads``: a worker-thread hop costs more than the read itself and, under
load, makes the two threads queue for the GIL), on PostgreSQL in a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from nuage.api.caching import send_cached
from nuage.api.crud import ListRead
from nuage.api.deps import ApiRuntime, Call, scope_for_claims
from nuage.api.errors import response_for
from nuage.api.tokens import Claims
from nuage.services.context import Context
from nuage.services.ports import KeyReader, NeedsDatabase, Prefetch

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class FastLane:
    """Serves item reads; everything else goes on to the application."""

    def __init__(
        self,
        runtime: ApiRuntime,
        reads: Mapping[str, Callable[[Call, str], bytes]],
        *,
        inline: bool,
        lists: Mapping[str, ListRead] | None = None,
        reader: KeyReader | None = None,
    ) -> None:
        self.runtime = runtime
        self.reads = reads
        self.lists = lists or {}
        self.inline = inline  # run on the event loop: one ~0.1 ms primary-key read on a local file
        self.reader = reader

    async def _prefetched(self, claims: Claims, work: Callable[[Call, Any], bytes], arg: Any) -> bytes | None:
        """The work over rows fetched by primary key, or None when it needs more of the database."""
        reader = self.reader
        if reader is None or claims.account_kind == "partner":  # a partner's scope is a query
            return None
        rt = self.runtime
        fetched: dict[tuple[str, str], Any] = {}
        for _ in range(4):
            uow = reader.prefetched(fetched)
            try:
                ctx = Context(scope_for_claims(uow, claims), rt.platform.clock)
                return work(Call(claims, uow, ctx, rt), arg)
            except Prefetch as need:
                try:
                    fetched[(need.name, need.key)] = await reader.find(need.name, need.key)
                except NeedsDatabase:
                    return None
            except NeedsDatabase:
                return None
        return None

    def _run(self, claims: Claims, work: Callable[[Call, Any], bytes], arg: Any) -> bytes:
        rt = self.runtime
        with rt.uow() as uow:
            ctx = Context(scope_for_claims(uow, claims), rt.platform.clock)
            return work(Call(claims, uow, ctx, rt), arg)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, claims: Claims, path: str) -> bool:
        """Answer and return True when ``path`` is an item read; else return False at once."""
        if scope["method"] != "GET":
            return False
        listing = self.lists.get(path)
        work: Callable[[Call, Any], bytes] | None
        arg: Any
        if listing is not None:
            arg = listing.parse(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            if arg is None:
                return False
            work = listing.work
        else:
            collection, slash, arg = path.rpartition("/")
            work = self.reads.get(collection)
            if work is None or not slash or not _ID.match(arg) or scope["query_string"]:
                return False
        wanted = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                wanted = value.decode("latin-1")
        try:
            body = None if listing is not None else await self._prefetched(claims, work, arg)
            if body is None:
                if self.inline:
                    body = self._run(claims, work, arg)
                else:
                    body = await run_in_threadpool(self._run, claims, work, arg)
        except Exception as exc:
            response = response_for(exc)
            if response is None:
                raise
            await response(scope, receive, send)
        else:
            await send_cached(send, body, wanted)
        return True
