"""Portal page of a customer's call records: ``/accounts/{account_id}/calls``, keyset pages.

The API's ``GET /call-records?account_id=`` as a page: oldest first, 50 at a time, the link to the
next page carries the cursor after the last record shown (a page never shifts when calls are
added); a cursor the portal did not make is refused in words. Same use case, same scope (TEN-4).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.errors import InvalidInput
from nuage.services.call_record_ports import CallRecordFilter
from nuage.services.call_records import CallRecordPage, list_call_records
from nuage.web.portal.base import Portal, Viewer, refusal
from nuage.web.portal.directory import MAX_ROWS, customer_of

PAGE = 50
MAX_CURSOR = 200


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    @routes.get("/accounts/{account_id}/calls", include_in_schema=False)
    def calls(request: Request, account_id: str, after: str | None = None) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("billing.call-records.read")
            wanted = CallRecordFilter(account_id=customer.id)
            refused = None
            try:
                page = list_call_records(
                    uow, viewer.ctx, wanted, after=(after or None) and after[:MAX_CURSOR], limit=PAGE
                )
            except InvalidInput as error:
                refused = refusal(error)
                page = CallRecordPage([], None)
            people = {u.id: u.name for u in uow.users.list(account_id=customer.id, limit=MAX_ROWS)}
            return portal.render(
                request,
                "account_calls.html",
                session=viewer.session,
                viewer=viewer,
                status=422 if refused else 200,
                customer=customer,
                records=page.items,
                next_cursor=page.next_cursor,
                paged=after is not None,
                people=people,
                refused=refused,
            )

        return portal.serve(request, work)

    return routes
