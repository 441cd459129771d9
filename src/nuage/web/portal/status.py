"""Portal page of a customer's standing under the terms: ``/accounts/{account_id}/status``.

The channels the account may use (CAP-1 from its billable users, or its pack's limit, CAP-2) and
how many it used over today (the call records, half an hour at a time; CAP-3 refuses the call over
the capacity), the declaration audit (CNT-4) and the emergency readiness (EMG-1..3), each a badge
with what to fix. The numbers come from the API's own views (``services.views``).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.services import views
from nuage.services.call_record_ports import CallRecordFilter
from nuage.services.call_records import list_call_records
from nuage.shared.clock import business_date, business_midnight
from nuage.web.portal import i18n
from nuage.web.portal.base import Portal, Viewer
from nuage.web.portal.charts import Interval, channel_chart, peak_use
from nuage.web.portal.directory import customer_of

#: the most call records a day's chart reads (then it shows the first ones, and says so)
MAX_DAY_RECORDS = 20_000
PAGE = 500


def day_of_calls(uow: ApiUnitOfWork, viewer: Viewer, account_id: str) -> tuple[list[Interval], int, bool]:
    """Today's calls of the account (Brussels day) as intervals, how many CAP-3 refused, and
    whether the day had more records than the chart reads."""
    now = viewer.ctx.clock.now()
    since = business_midnight(business_date(now))
    wanted = CallRecordFilter(account_id=account_id, since=since, until=since + timedelta(days=1))
    calls: list[Interval] = []
    refused, after, read = 0, None, 0
    while read < MAX_DAY_RECORDS:
        page = list_call_records(uow, viewer.ctx, wanted, after=after, limit=PAGE)
        read += len(page.items)
        for record in page.items:
            if record.refusal_rule == "CAP-3":
                refused += 1
            elif record.disposition == "answered" or record.answered_at is not None:
                calls.append(Interval(record.started_at, min(record.ended_at, now)))
        if page.next_cursor is None:
            return calls, refused, False
        after = page.next_cursor
    return calls, refused, True


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    @routes.get("/accounts/{account_id}/status", include_in_schema=False)
    def status(request: Request, account_id: str) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("terms.capacity.read")
            capacity = views.capacity_of(uow, viewer.ctx, customer.id)
            audit = (
                views.declaration_audit_of(uow, viewer.ctx, customer.id)
                if viewer.may("terms.declaration-audit.read")
                else None
            )
            readiness = (
                views.emergency_readiness_of(uow, viewer.ctx, customer.id)
                if viewer.may("terms.emergency-readiness.read")
                else None
            )
            chart = None
            refused, cut = 0, False
            if viewer.may("billing.call-records.read"):
                calls, refused, cut = day_of_calls(uow, viewer, customer.id)
                since = business_midnight(business_date(viewer.ctx.clock.now()))
                _ = i18n.gettext(viewer.language)
                chart = channel_chart(
                    peak_use(calls, since),
                    capacity.channels,
                    title=_("Channels in use today, half an hour at a time"),
                    capacity_label=_("capacity ({rule})", rule=capacity.rule_id),
                )
            return portal.render(
                request,
                "status.html",
                session=viewer.session,
                viewer=viewer,
                customer=customer,
                capacity=capacity,
                audit=audit,
                readiness=readiness,
                chart=chart,
                refused=refused,
                cut=cut,
            )

        return portal.serve(request, work)

    return routes
