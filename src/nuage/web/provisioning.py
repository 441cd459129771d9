"""HW-1: ``/provisioning/<token>/<file>``: the desk phones fetch their configuration here (over
HTTPS when ``[http.tls]`` is set), outside the API and the portal's sessions: the token in the path
is the phone's own credential (``services.support.provisioning``)."""

from __future__ import annotations

from fastapi import FastAPI, Response

from nuage.api.errors import error_response
from nuage.bootstrap import Platform
from nuage.errors import NotFound
from nuage.services.support.provisioning import ProvisioningRefused, SipTarget, configuration


def sip_target(platform: Platform) -> SipTarget:
    """HW-1: where the phones register, from ``[provisioning]`` and ``[sip]``."""
    sip, wanted = platform.settings.sip, platform.settings.provisioning
    port = wanted.sip_port or sip.port or 5060
    if wanted.transport == "tls" and wanted.sip_port is None:
        port += 1  # the SIP listener's TLS port
    return SipTarget(sip.realm, wanted.sip_host or sip.host, port, wanted.transport)


def install(app: FastAPI, platform: Platform) -> None:
    """Add the phones' configuration route to the web application."""

    @app.get("/provisioning/{token}/{filename}", include_in_schema=False)
    def phone_configuration(token: str, filename: str) -> Response:
        try:
            with platform.uow() as uow:
                media, body = configuration(uow, platform.clock, token, filename, sip_target(platform))
        except ProvisioningRefused as exc:
            return error_response(401, exc.error_id, exc.message, {"rule_id": "HW-1"})
        except NotFound as exc:
            return error_response(404, exc.error_id, exc.message)
        return Response(body, media_type=media, headers={"Cache-Control": "no-store"})
