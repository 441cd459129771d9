"""Portal page of a user's own call forwarding and do-not-disturb (self-care): ``/my/forwarding``.

The same form as the API's ``PATCH /users/{id}/forwarding`` (``ForwardingUpdate``) over the same
use case: an empty destination turns that forward off; EMG-2 refuses an emergency number, CFG-2 a
no-service user, in the API's words with the rule. Phones set the same settings with feature codes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.forwarding import ForwardingUpdate
from nuage.errors import NuageError
from nuage.services.directory.forwarding import FORWARDS, ForwardingChanges, get_forwarding, set_forwarding
from nuage.web.portal.base import Form, Portal, Viewer, form_text, read_form, refusal


def _sent(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = {name: form_text(form, name, 64) for name in FORWARDS}
    values["dnd"] = form.get("dnd") == "on"
    seconds = form_text(form, "no_answer_s", 4)
    if seconds is not None:
        values["no_answer_s"] = seconds
    return values


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def page(request: Request, viewer: Viewer, uow: ApiUnitOfWork, **more: Any) -> Response:
        viewer.require("directory.users.read", self_id=viewer.user.id)
        current = get_forwarding(uow, viewer.ctx, viewer.user.id)
        return portal.render(
            request,
            "my_forwarding.html",
            session=viewer.session,
            viewer=viewer,
            status=422 if "refused" in more else 200,
            values=more.pop("values", None) or current.__dict__,
            forwards=FORWARDS,
            **more,
        )

    @routes.get("/my/forwarding", include_in_schema=False)
    def show(request: Request) -> Response:
        return portal.serve(request, lambda viewer, uow: page(request, viewer, uow))

    @routes.post("/my/forwarding", include_in_schema=False)
    async def save(request: Request) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            viewer.require("directory.users.update", self_id=viewer.user.id)
            sent = _sent(form)
            try:
                body = ForwardingUpdate.model_validate(sent)
                set_forwarding(
                    uow, viewer.ctx, viewer.user.id, ForwardingChanges(**body.model_dump(exclude_unset=True))
                )
            except (ValidationError, NuageError) as error:
                return page(request, viewer, uow, refused=refusal(error), values=sent)
            uow.commit()
            portal.flash(viewer.session, "forwarding-saved")
            return portal.redirect(request, "/my/forwarding")

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes
