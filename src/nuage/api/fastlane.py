"""The hot read path: ``GET /{collection}/{id}`` and plain ``GET /{collection}`` served right after
the gate, without the framework's routing and dependency machinery, by the very ``work`` function
the documented route uses (so the answers, the ETag/304 of API-4 and the TEN-4 404s are the same
bytes either way).

On SQLite the read runs on the event loop (setting ``api.inline_item_reads``): a worker-thread hop
costs more than the primary-key read itself and, under load, makes the two threads queue for the
GIL (measured: 2,200 against 5,000 requests/s; see docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from nuage.api.caching import cached_response
from nuage.api.crud import ListRead
from nuage.api.deps import ApiRuntime, Call, scope_for_claims
from nuage.api.errors import response_for
from nuage.api.tokens import Claims
from nuage.services.context import Context

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
    ) -> None:
        self.runtime = runtime
        self.reads = reads
        self.lists = lists or {}
        self.inline = inline  # run on the event loop: one ~0.1 ms primary-key read on a local file

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
            if self.inline:
                body = self._run(claims, work, arg)
            else:
                body = await run_in_threadpool(self._run, claims, work, arg)
        except Exception as exc:
            response = response_for(exc)
            if response is None:
                raise
        else:
            response = cached_response(body, wanted)
        await response(scope, receive, send)
        return True
