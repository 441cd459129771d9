"""Portal page of a customer's call records: ``/accounts/{account_id}/calls``, keyset pages.

The API's ``GET /call-records?account_id=`` as a page, filtered by number, direction or outcome:
oldest first, 50 at a time, the link to the next page carries the filter and the cursor after the
last record shown (a page never shifts when calls are added); a cursor the portal did not make or
a filter the API refuses is refused in words. Same use case, same scope (TEN-4).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.errors import InvalidInput
from nuage.services.call_record_ports import CallRecordFilter
from nuage.services.call_records import DIRECTIONS, DISPOSITIONS, CallRecordPage, list_call_records
from nuage.web.portal.base import Portal, Viewer, refusal
from nuage.web.portal.directory import MAX_ROWS, customer_of

PAGE = 50
MAX_CURSOR = 200


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    @routes.get("/accounts/{account_id}/calls", include_in_schema=False)
    def calls(
        request: Request,
        account_id: str,
        after: str | None = None,
        number: str | None = None,
        direction: str | None = None,
        disposition: str | None = None,
    ) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("billing.call-records.read")
            chosen = {
                "number": (number or "").strip()[:40] or None,
                "direction": (direction or "")[:20] or None,
                "disposition": (disposition or "")[:20] or None,
            }
            wanted = CallRecordFilter(
                account_id=customer.id,
                number=chosen["number"],
                direction=chosen["direction"],
                disposition=chosen["disposition"],
            )
            refused = None
            try:
                cursor = after[:MAX_CURSOR] if after else None
                page = list_call_records(uow, viewer.ctx, wanted, after=cursor, limit=PAGE)
            except InvalidInput as error:
                refused = refusal(error)
                page = CallRecordPage([], None)
            people = {u.id: u.name for u in uow.users.list(account_id=customer.id, limit=MAX_ROWS)}
            kept = {k: v for k, v in chosen.items() if v}
            return portal.render(
                request,
                "account_calls.html",
                session=viewer.session,
                viewer=viewer,
                status=422 if refused else 200,
                customer=customer,
                records=page.items,
                next_query=urlencode({**kept, "after": page.next_cursor}) if page.next_cursor else None,
                first_query=urlencode(kept),
                paged=after is not None,
                chosen=chosen,
                directions=sorted(DIRECTIONS),
                dispositions=sorted(DISPOSITIONS),
                people=people,
                refused=refused,
            )

        return portal.serve(request, work)

    return routes
