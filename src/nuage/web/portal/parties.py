"""Portal forms over partners and customers: create them (TEN-1), suspend and restore them.

``POST /partners`` (the operator), ``POST /customers`` (the operator: direct or under a partner;
a partner: its own), ``POST /parties/{id}/status`` (the operator: suspended or active again, with
a reason; bankruptcy and termination go through the contract and are refused with their rule).
Validated by the API's ``PartnerCreate``, ``CustomerCreate`` and ``StatusChange``, carried out by
the same use cases (``services.tenancy``); another tenant's party is the 404 page (TEN-4).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.parties import CustomerCreate, PartnerCreate, StatusChange
from nuage.errors import NotFound, NuageError
from nuage.services import tenancy as t
from nuage.services.queries import get_visible
from nuage.tenancy.model import PartyKind
from nuage.web.portal.base import Portal, Refusal, Viewer, form_text, read_form, refusal
from nuage.web.portal.directory import ID_LENGTH

#: where each kind of party is listed
LISTS = {PartyKind.PARTNER: "/partners", PartyKind.CUSTOMER: "/customers"}


def router(
    portal: Portal, show: Callable[[Request, Viewer, ApiUnitOfWork, str, Refusal], Response]
) -> APIRouter:
    """The routes of this module over ``portal``; ``show(request, viewer, uow, list_path, refused)``
    renders a list page again with a refusal."""
    routes = APIRouter()

    @routes.post("/partners", include_in_schema=False)
    async def create_partner(request: Request) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            if not viewer.ctx.scope.is_operator:
                raise NotFound("page", "partners")
            viewer.require("tenancy.partners.create")
            sent = {"name": form_text(form, "name", 200), "language": form_text(form, "language", 2) or "en"}
            try:
                body = PartnerCreate.model_validate({k: v for k, v in sent.items() if v is not None})
                t.create_partner(uow, viewer.ctx, body.name, body.language)
            except (ValidationError, NuageError) as error:
                return show(request, viewer, uow, "/partners", refusal(error))
            uow.commit()
            portal.flash(viewer.session, "party-created")
            return portal.redirect(request, "/partners")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/customers", include_in_schema=False)
    async def create_customer(request: Request) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            if viewer.claims.account_kind == PartyKind.CUSTOMER.value:
                raise NotFound("page", "customers")
            viewer.require("tenancy.customers.create")
            partner_id = form_text(form, "partner_id", ID_LENGTH)
            if viewer.claims.account_kind == PartyKind.PARTNER.value:
                partner_id = viewer.party.id  # a partner's customers are its own
            sent = {
                "name": form_text(form, "name", 200),
                "language": form_text(form, "language", 2) or "en",
                "partner_id": partner_id,
            }
            try:
                body = CustomerCreate.model_validate({k: v for k, v in sent.items() if v is not None})
                if body.partner_id is not None:
                    viewer.ctx.scope.require(body.partner_id, "partner")
                t.create_customer(uow, viewer.ctx, body.name, body.partner_id, body.language)
            except (ValidationError, NuageError) as error:
                return show(request, viewer, uow, "/customers", refusal(error))
            uow.commit()
            portal.flash(viewer.session, "party-created")
            return portal.redirect(request, "/customers")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/parties/{party_id}/status", include_in_schema=False)
    async def status(request: Request, party_id: str) -> Response:
        """PAY-1/PAY-3: the operator suspends a partner or customer, or makes it active again."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            party = get_visible(uow.parties, viewer.ctx, party_id[:ID_LENGTH], owner_field="id")
            if party.kind not in LISTS:
                raise NotFound("party", party_id)
            viewer.require(f"tenancy.{party.kind.value}s.update-status")
            try:
                body = StatusChange.model_validate(
                    {"status": form_text(form, "status", 20), "reason": form_text(form, "reason", 200)}
                )
                t.set_status(uow, viewer.ctx, party.id, body.status, body.reason)
            except (ValidationError, NuageError) as error:
                return show(request, viewer, uow, LISTS[party.kind], refusal(error))
            uow.commit()
            portal.flash(viewer.session, "status-changed")
            return portal.redirect(request, LISTS[party.kind])

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes
