"""The portal: server-rendered pages for every role, over the same use cases and scopes as the API.

Owns the sessions (``sessions``), the languages (``i18n``), what pages share (``base``), the audit
trail of its changes (``trail``) and the pages themselves (``account``, ``selfcare``,
``voicemail`` and ``forwarding`` for a user's own, ``directory``, ``devices``, ``rooms``,
``media``, ``status``, ``records``, ``tenancy`` with ``parties``, ``orders``, ``operations``,
``billing_runs``, ``softphone``, ``second_factor``, ``recovery`` for password resets, ``audit``);
``charts`` draws their SVG; ``live`` with ``streams`` follows live parts of pages (server-sent
events, the one script). Nothing but the login page (and a forgotten password's pages) and the
script is shown without a session.
"""

from __future__ import annotations

from fastapi import FastAPI

from nuage.api.deps import ApiRuntime
from nuage.web.portal import (
    account,
    audit,
    billing_runs,
    devices,
    directory,
    forwarding,
    live,
    media,
    operations,
    orders,
    records,
    recovery,
    rooms,
    second_factor,
    selfcare,
    softphone,
    status,
    tenancy,
    voicemail,
)
from nuage.web.portal.base import Portal
from nuage.web.portal.sessions import SessionStore


def install(app: FastAPI, runtime: ApiRuntime) -> Portal:
    """Add the portal's pages to ``app``; its sessions live in this process."""
    portal = Portal(runtime, SessionStore(runtime.platform.clock))
    for module in (
        account,
        selfcare,
        voicemail,
        forwarding,
        live,
        directory,
        devices,
        rooms,
        media,
        status,
        records,
        tenancy,
        orders,
        operations,
        billing_runs,
        softphone,
        second_factor,
        recovery,
        audit,
    ):
        app.include_router(module.router(portal))
    app.state.portal = portal
    return portal
