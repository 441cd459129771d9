"""Portal page of orders (TEN-3): a partner orders for its customers, the operator for any.

``/orders`` lists the orders the viewer may see (TEN-4: a partner its customers', the operator
all), newest first, and the form: the customer, the version of the terms it accepted and their
language, who accepted them, the service's start, the minimum term (CTR-1) and up to
:data:`LINES` items (hardware, activation, users...). Validated by the API's ``OrderCreate`` and
placed by the same use case (``services.tenancy.place_order``: the acceptance time is the
platform's clock); a customer's administrator gets the 404 page, as for the customers list.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.orders import OrderCreate
from nuage.errors import NotFound, NuageError
from nuage.services import tenancy as t
from nuage.services.queries import page_visible
from nuage.tenancy.model import OrderLine, PartyKind
from nuage.web.portal.base import Form, Portal, Viewer, form_text, read_form, refusal
from nuage.web.portal.directory import ID_LENGTH, MAX_ROWS

LINES = 3  # item rows of the form


def _sent(form: Form) -> dict[str, Any]:
    """The form's fields as the API's body (bounded; empty item rows left out)."""
    lines = []
    for index in range(1, LINES + 1):
        item = form_text(form, f"item_{index}", 100)
        if item is None:
            continue
        quantity = form_text(form, f"quantity_{index}", 6) or "1"
        lines.append({"item": item, "quantity": quantity})
    sent: dict[str, Any] = {
        "customer_id": form_text(form, "customer_id", ID_LENGTH),
        "terms_version": form_text(form, "terms_version", 40),
        "language": form_text(form, "language", 2),
        "accepted_by": form_text(form, "accepted_by", 200),
        "service_start_on": form_text(form, "service_start_on", 10),
        "minimum_term_months": form_text(form, "minimum_term_months", 3),
        "description": form_text(form, "description", 200),
        "lines": lines,
    }
    return {k: v for k, v in sent.items() if v is not None}


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def page(request: Request, viewer: Viewer, uow: ApiUnitOfWork, **more: Any) -> Response:
        if viewer.claims.account_kind == PartyKind.CUSTOMER.value:
            raise NotFound("page", "orders")
        viewer.require("tenancy.orders.read")
        orders = page_visible(
            uow.orders,
            viewer.ctx,
            owner_field="customer_id",
            order_by=("accepted_at", "id"),
            descending=True,
            limit=MAX_ROWS,
        ).items
        customers = page_visible(
            uow.parties,
            viewer.ctx,
            owner_field="id",
            order_by=("name", "id"),
            limit=MAX_ROWS,
            where={"kind": PartyKind.CUSTOMER.value},
        ).items
        names = {c.id: c.name for c in customers}
        for order in orders:  # a customer beyond the list's first page: its name all the same
            if order.customer_id not in names and (found := uow.parties.find(order.customer_id)) is not None:
                names[found.id] = found.name
        return portal.render(
            request,
            "orders.html",
            session=viewer.session,
            viewer=viewer,
            status=422 if "refused" in more else 200,
            orders=orders,
            customers=customers,
            names=names,
            lines=LINES,
            today=portal.clock.now().date().isoformat(),
            **more,
        )

    @routes.get("/orders", include_in_schema=False)
    def orders(request: Request) -> Response:
        return portal.serve(request, lambda viewer, uow: page(request, viewer, uow))

    @routes.post("/orders", include_in_schema=False)
    async def place(request: Request) -> Response:
        """TEN-3: the API's ``POST /orders``, for a customer the viewer may see (TEN-4)."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            if viewer.claims.account_kind == PartyKind.CUSTOMER.value:
                raise NotFound("page", "orders")
            viewer.require("tenancy.orders.create")
            sent = _sent(form)
            try:
                body = OrderCreate.model_validate(sent)
                t.place_order(
                    uow,
                    viewer.ctx,
                    body.customer_id,
                    terms_version=body.terms_version,
                    language=body.language,
                    accepted_by=body.accepted_by,
                    service_start_on=body.service_start_on,
                    minimum_term_months=body.minimum_term_months,
                    lines=[OrderLine(line.item, line.quantity, line.description) for line in body.lines],
                    description=body.description,
                )
            except NotFound:
                raise  # another tenant's customer: the 404 page (TEN-4)
            except (ValidationError, NuageError) as error:
                return page(request, viewer, uow, refused=refusal(error), values=sent)
            uow.commit()
            portal.flash(viewer.session, "order-placed")
            return portal.redirect(request, "/orders")

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes
