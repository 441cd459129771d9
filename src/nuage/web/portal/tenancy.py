"""Portal pages above one customer: the operator's overview and partners, customers, invoices.

* ``/overview`` and ``/partners``: the operator's staff only (anyone else: the 404 page, TEN-4);
* ``/customers``: the customers the viewer sees (a partner its own, the operator all); the
  forms that create them and change their status are ``parties``';
* ``/invoices`` and ``/invoices/{number}/pdf``: the invoices the viewer sees (BIL-4), the PDF the
  stored bytes as the API serves them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.errors import Conflict, NotFound
from nuage.services.billing import queries
from nuage.services.meetings.placement import gateway_overview
from nuage.services.payments import documents
from nuage.services.queries import page_visible
from nuage.tenancy.model import PartyKind
from nuage.web.overview import build_overview
from nuage.web.portal import parties
from nuage.web.portal.base import NO_STORE, Portal, Refusal, Viewer

MAX_ROWS = 500


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def operator_only(viewer: Viewer, what: str) -> None:
        if not viewer.ctx.scope.is_operator:
            raise NotFound("page", what)

    @routes.get("/overview", include_in_schema=False)
    def overview(request: Request) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            operator_only(viewer, "overview")
            data = build_overview(uow, viewer.ctx)
            gateways = portal.runtime.platform.meeting_gateways  # MTG-1: Janus, as the operator sees it
            return portal.render(
                request,
                "overview.html",
                session=viewer.session,
                viewer=viewer,
                overview=data,
                janus=gateway_overview(uow, gateways) if gateways is not None else None,
            )

        return portal.serve(request, work)

    def partners_page(
        request: Request, viewer: Viewer, uow: ApiUnitOfWork, refused: Refusal | None = None
    ) -> Response:
        operator_only(viewer, "partners")
        viewer.require("tenancy.partners.read")
        found = uow.parties.list(kind=PartyKind.PARTNER.value, order_by=("name",), limit=MAX_ROWS)
        return portal.render(
            request,
            "partners.html",
            session=viewer.session,
            viewer=viewer,
            status=422 if refused else 200,
            partners=found,
            refused=refused,
        )

    def customers_page(
        request: Request, viewer: Viewer, uow: ApiUnitOfWork, refused: Refusal | None = None
    ) -> Response:
        if viewer.claims.account_kind == PartyKind.CUSTOMER.value:
            raise NotFound("page", "customers")
        viewer.require("tenancy.customers.read")
        found = page_visible(
            uow.parties,
            viewer.ctx,
            owner_field="id",
            order_by=("name", "id"),
            limit=MAX_ROWS,
            where={"kind": PartyKind.CUSTOMER.value},
        )
        partners = page_visible(
            uow.parties,
            viewer.ctx,
            owner_field="id",
            order_by=("name", "id"),
            limit=MAX_ROWS,
            where={"kind": PartyKind.PARTNER.value},
        ).items
        return portal.render(
            request,
            "customers.html",
            session=viewer.session,
            viewer=viewer,
            status=422 if refused else 200,
            customers=found.items,
            partners={p.id: p.name for p in partners},
            partner_list=partners,
            refused=refused,
        )

    def show(request: Request, viewer: Viewer, uow: ApiUnitOfWork, path: str, refused: Refusal) -> Response:
        if path == "/partners":
            return partners_page(request, viewer, uow, refused)
        return customers_page(request, viewer, uow, refused)

    routes.include_router(parties.router(portal, show))

    @routes.get("/partners", include_in_schema=False)
    def partners(request: Request) -> Response:
        return portal.serve(request, lambda viewer, uow: partners_page(request, viewer, uow))

    @routes.get("/customers", include_in_schema=False)
    def customers(request: Request) -> Response:
        return portal.serve(request, lambda viewer, uow: customers_page(request, viewer, uow))

    @routes.get("/invoices", include_in_schema=False)
    def invoices(request: Request) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            viewer.require("billing.invoices.read")
            page = queries.list_invoices(uow, viewer.ctx, limit=MAX_ROWS)
            names = {p.id: p.name for p in uow.parties.list(limit=MAX_ROWS * 4)}
            return portal.render(
                request,
                "invoices.html",
                session=viewer.session,
                viewer=viewer,
                invoices=page.items,
                names=names,
            )

        return portal.serve(request, work)

    @routes.get("/invoices/{number}/pdf", include_in_schema=False)
    def invoice_pdf(request: Request, number: str) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            queries.get_invoice(uow, viewer.ctx, number[:32])  # TEN-4 first: another tenant's is 404
            viewer.require("billing.invoices.read")
            platform = portal.runtime.platform
            # BIL-4: the stored bytes; the first read of an invoice not rendered yet stores them
            try:
                with platform.uow() as writing:
                    name, media, body = documents.document_file(
                        writing, viewer.ctx, number, "pdf", platform.documents
                    )
                    writing.commit()
            except Conflict:  # another read stored them first: those are the invoice's files
                with platform.uow() as reading:
                    name, media, body = documents.document_file(
                        reading, viewer.ctx, number, "pdf", platform.documents
                    )
            disposition = f'attachment; filename="{name}"'
            return Response(body, media_type=media, headers={"Content-Disposition": disposition, **NO_STORE})

        return portal.serve(request, work)

    return routes
