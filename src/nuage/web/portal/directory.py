"""Portal pages of a customer's directory: users (list, create, edit, remove), numbers (routing to
a user or a device).

``/accounts/{account_id}/...``: a customer's administrator on its own account, its partner and the
operator on any customer they see (TEN-4: another tenant's account or user is the 404 page). The
forms are validated by the API's own input models (``UserCreate``, ``UserUpdate``) and carried out
by the same use cases, so a refusal reads as the API's, with the rule ID when a term says no.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.numbers import Assignment
from nuage.api.resources.users import UserCreate, UserUpdate
from nuage.directory.model import Role, User
from nuage.errors import InvalidInput, NuageError
from nuage.services.directory.numbers import assign_number
from nuage.services.directory.users import UserChanges, add_user, remove_user, update_user
from nuage.services.queries import get_visible, page_visible
from nuage.services.tenancy import get_customer
from nuage.tenancy.model import Party
from nuage.web.portal.base import Form, Portal, Viewer, form_text, read_form, refusal

MAX_ROWS = 500
ID_LENGTH = 40


def customer_of(uow: ApiUnitOfWork, viewer: Viewer, account_id: str) -> Party:
    """TEN-4: the customer if the viewer sees it (else the 404 page)."""
    return get_customer(uow, viewer.ctx, account_id[:ID_LENGTH])


def _fields(form: Form) -> dict[str, Any]:
    return {
        "name": form_text(form, "name", 200),
        "email": form_text(form, "email", 320),
        "extension": form_text(form, "extension", 8),
        "language": form_text(form, "language", 2),
        "role": form_text(form, "role", 20) or Role.USER.value,
        "no_service": form.get("no_service") == "on",
    }


def _target(chosen: str | None) -> dict[str, str | None]:
    """A number's route as the form names it (``user:<id>``, ``device:<id>`` or nothing), as the
    API's ``Assignment`` fields."""
    kind, _, key = (chosen or "").partition(":")
    if chosen and (kind not in ("user", "device") or not key):
        raise InvalidInput("target", "Route the number to a user or a device of the account, or to nobody")
    return {"user_id": key if kind == "user" else None, "device_id": key if kind == "device" else None}


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def page(request: Request, viewer: Viewer, template: str, status: int = 200, **values: Any) -> Response:
        return portal.render(
            request, template, session=viewer.session, viewer=viewer, status=status, **values
        )

    def users_page(request: Request, viewer: Viewer, uow: ApiUnitOfWork, account_id: str) -> Response:
        customer = customer_of(uow, viewer, account_id)
        viewer.require("directory.users.read")
        found = page_visible(
            uow.users, viewer.ctx, order_by=("name", "id"), limit=MAX_ROWS, where={"account_id": customer.id}
        )
        return page(request, viewer, "users.html", customer=customer, users=found.items)

    @routes.get("/accounts/{account_id}/users", include_in_schema=False)
    def users(request: Request, account_id: str) -> Response:
        return portal.serve(request, lambda viewer, uow: users_page(request, viewer, uow, account_id))

    def user_form(
        request: Request,
        viewer: Viewer,
        customer: Party,
        user: User | None,
        values: dict[str, Any],
        **more: Any,
    ) -> Response:
        status = 422 if "refused" in more else 200
        return page(
            request, viewer, "user_form.html", status, customer=customer, user=user, values=values, **more
        )

    @routes.get("/accounts/{account_id}/users/new", include_in_schema=False)
    def new_user(request: Request, account_id: str) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("directory.users.create")
            return user_form(request, viewer, customer, None, {"role": Role.USER.value})

        return portal.serve(request, work)

    @routes.post("/accounts/{account_id}/users/new", include_in_schema=False)
    async def create_user(request: Request, account_id: str) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("directory.users.create")
            values = _fields(form)
            try:
                body = UserCreate.model_validate({k: v for k, v in values.items() if v is not None})
                add_user(
                    uow,
                    viewer.ctx,
                    customer.id,
                    body.name,
                    role=body.role,
                    no_service=body.no_service,
                    email=body.email,
                    extension=body.extension,
                    language=body.language,
                )
            except (ValidationError, NuageError) as error:
                return user_form(request, viewer, customer, None, values, refused=refusal(error))
            uow.commit()
            portal.flash(viewer.session, "user-created")
            return portal.redirect(request, f"/accounts/{customer.id}/users")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.get("/accounts/{account_id}/users/{user_id}", include_in_schema=False)
    def edit_user(request: Request, account_id: str, user_id: str) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            user = get_visible(uow.users, viewer.ctx, user_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.users.read")
            values = {f: getattr(user, f) for f in ("name", "email", "extension", "language", "no_service")}
            return user_form(request, viewer, customer, user, {**values, "role": user.role.value})

        return portal.serve(request, work)

    @routes.post("/accounts/{account_id}/users/{user_id}", include_in_schema=False)
    async def update(request: Request, account_id: str, user_id: str) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            user = get_visible(uow.users, viewer.ctx, user_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.users.update")
            values = _fields(form)
            try:
                sent = {
                    k: v
                    for k, v in values.items()
                    if v is not None or k in ("email", "extension", "language")
                }
                body = UserUpdate.model_validate(sent)
                changes = {k: getattr(body, k) for k in sent if k in body.model_fields_set}
                updated = update_user(uow, viewer.ctx, user.id, UserChanges(**changes))
            except (ValidationError, NuageError) as error:
                return user_form(request, viewer, customer, user, values, refused=refusal(error))
            uow.commit()
            holder = (updated.account_id, updated.role.value, updated.token_generation)
            portal.runtime.state.set_holder(updated.id, holder)  # the API's tokens follow the new role
            portal.flash(viewer.session, "user-saved")
            return portal.redirect(request, f"/accounts/{customer.id}/users")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/accounts/{account_id}/users/{user_id}/remove", include_in_schema=False)
    async def remove(request: Request, account_id: str, user_id: str) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            user = get_visible(uow.users, viewer.ctx, user_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.users.delete")
            try:
                remove_user(uow, viewer.ctx, user.id)
            except NuageError as error:
                return user_form(request, viewer, customer, user, vars(user), refused=refusal(error))
            uow.commit()
            portal.runtime.state.block_user(user.id)
            portal.flash(viewer.session, "user-removed")
            return portal.redirect(request, f"/accounts/{customer.id}/users")

        return await run_in_threadpool(portal.serve, request, work, form)

    def numbers_page(
        request: Request, viewer: Viewer, uow: ApiUnitOfWork, account_id: str, **more: Any
    ) -> Response:
        customer = customer_of(uow, viewer, account_id)
        viewer.require("directory.numbers.read")
        where = {"account_id": customer.id}
        found = page_visible(uow.numbers, viewer.ctx, order_by=("e164", "id"), limit=MAX_ROWS, where=where)
        users = uow.users.list(account_id=customer.id, order_by=("name",), limit=MAX_ROWS)
        devices = uow.devices.list(account_id=customer.id, order_by=("label",), limit=MAX_ROWS)
        status = 422 if "refused" in more else 200
        return page(
            request,
            viewer,
            "numbers.html",
            status,
            customer=customer,
            items=found.items,
            people={u.id: u.name for u in users},
            users=users,
            devices=devices,
            labels={d.id: d.label for d in devices},
            **more,
        )

    @routes.get("/accounts/{account_id}/numbers", include_in_schema=False)
    def numbers(request: Request, account_id: str) -> Response:
        return portal.serve(request, lambda viewer, uow: numbers_page(request, viewer, uow, account_id))

    @routes.post("/accounts/{account_id}/numbers/{number_id}/assignment", include_in_schema=False)
    async def assign(request: Request, account_id: str, number_id: str) -> Response:
        """CFG-6: route a number to one of the account's users or devices, or to nobody (the API's
        ``PUT /numbers/{id}/assignment``)."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            number = get_visible(uow.numbers, viewer.ctx, number_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.numbers.update")
            try:
                body = Assignment.model_validate(_target(form_text(form, "target", ID_LENGTH + 8)))
                assign_number(uow, viewer.ctx, number.id, **body.model_dump())
            except (ValidationError, NuageError) as error:
                return numbers_page(request, viewer, uow, customer.id, refused=refusal(error))
            uow.commit()
            portal.flash(viewer.session, "number-routed")
            return portal.redirect(request, f"/accounts/{customer.id}/numbers")

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes
