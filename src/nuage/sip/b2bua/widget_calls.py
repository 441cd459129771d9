"""A visitor's call from the click-to-call widget (CFG-10), as it reaches the SIP plane.

The visitor's browser calls through the WebRTC gateway's SIP plugin, unauthenticated, with the
ticket the web process issued in ``X-Nuage-Widget`` (``nuage.directory.widget_tickets``). The ticket
is all the call may do: it rings the destination the administrator configured for the web channel
(the ticket's number, resolved like a call to that number from the public network: a user, a
group, a PBX trunk, or the menu, schedule or room Nuage answers itself), whatever the Request-URI
says. A missing, forged, expired or replayed ticket is refused (403, Warning citing CFG-10).
The call is inbound to the web channel's account and carries the web channel, so the policy counts
it against the channels configured (all busy: 486 "All lines busy", CFG-10) and gives the line
back when the call ends; it gets its CDR like any call.
"""

from __future__ import annotations

from nuage.errors import InvalidInput
from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.inbound_apps import answer_inbound, number_application
from nuage.sip.b2bua.services import CallServices
from nuage.sip.ports import CallAttempt, CallOutcome, CarrierTrunk, Direction, Refusal
from nuage.sip.responses import warning_header
from nuage.sip.transactions import ServerTransaction

WEB = "web"  # the pseudo trunk a widget call arrives by (resolving its number like a DID)


async def admit_widget_call(
    services: CallServices, tx: ServerTransaction, token: str
) -> CallController | None:
    """CFG-10: start the widget call its ticket allows, or refuse it (403 citing CFG-10)."""
    request = tx.request
    try:
        if services.widgets is None:
            raise InvalidInput("ticket", "Widget calls are not enabled here", rule_id="CFG-10")
        ticket = services.widgets.redeem(token)
    except InvalidInput as error:
        refusal = Refusal("CFG-10", str(error))
        tx.reply(403, "Forbidden", headers=[("warning", warning_header(refusal, services.settings.domain))])
        return None
    source = tx.source
    destination = await services.dial_plan.resolve_inbound(
        CarrierTrunk(WEB, source.host, source.port), ticket.destination
    )
    web_channel = (ticket.widget_id, ticket.channels)
    found = await number_application(services, ticket.destination) if destination is None else None
    if found is not None:  # a number routed to a menu, a schedule or a room: Nuage answers
        return await answer_inbound(services, tx, None, found, web_channel=web_channel)
    call = CallController(services, tx, account=None, direction=Direction.INBOUND)
    if destination is None:
        call.finish_early(404, CallOutcome.NOT_FOUND)
        return None
    attempt = CallAttempt(
        call_id=request.call_id,
        direction=Direction.INBOUND,
        account_id=ticket.account_id,
        device_id=None,
        user_id=None,
        presented_caller_id=request.from_addr.uri.user or "",
        source_host=source.host,
        source_port=source.port,
        dialled=ticket.destination,
        destination=destination,
        emergency=False,
        trunk_id=None,
        web_channel=web_channel,
    )
    await call.start(attempt)
    return call
