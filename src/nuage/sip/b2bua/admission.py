"""Admission of an initial INVITE: checks, who calls (carrier, trunk, digest, widget), what was dialled.

``answer_now`` answers at once what needs no lookup (422 for a too short Session-Expires, 483
for a spent Max-Forwards, the first try's digest challenge); ``admit`` the rest (the challenge of
stale credentials, 404 for nothing dialled that resolves), runs a feature code
(``nuage.sip.b2bua.features``; forwarding codes and call pickup: ``forwarding``, ``pickup``;
a media application's: ``nuage.sip.b2bua.apps``) and otherwise starts a ``CallController``
for the attempt, which asks the policy. A number leading to a virtual fax (``FaxDestination``)
is answered by the server's fax application; a carrier's call to a number routed to a menu, a
schedule or a room by that application; every call an application answers is first weighed by
the policy (``nuage.sip.b2bua.inbound_apps``).
"""

from __future__ import annotations

from nuage.sip.b2bua.apps import dispatch
from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.features import hot_desk_feature, is_feature
from nuage.sip.b2bua.forwarding import forwarding_feature, parse_feature
from nuage.sip.b2bua.inbound_apps import (
    answer_admitted,
    answer_inbound,
    application_attempt,
    number_application,
)
from nuage.sip.b2bua.pickup import is_pickup, pickup
from nuage.sip.b2bua.replaces import replace_dialog
from nuage.sip.b2bua.services import CallServices
from nuage.sip.b2bua.widget_calls import admit_widget_call
from nuage.sip.ports import (
    ApplicationDestination,
    CallAttempt,
    CallOutcome,
    CarrierTrunk,
    Destination,
    DeviceDestination,
    Direction,
    ExternalDestination,
    FaxDestination,
    GroupDestination,
    SipAccount,
    TrunkDestination,
    UserDestination,
)
from nuage.sip.transactions import ServerTransaction


def answer_now(services: CallServices, tx: ServerTransaction) -> bool:
    """What admission answers at once, without a task (issue #22): a Session-Expires under
    Min-SE (422), a spent Max-Forwards (483), and the digest challenge of a phone's first try,
    which carries no credentials (407, sent statelessly). False: ``admit`` must run (credentials
    to check, a widget's call, or a source known by its address: a carrier's gateway or a
    trunk's PBX)."""
    request = tx.request
    settings = services.settings
    session_expires = request.int_header("session-expires")
    if session_expires is not None and session_expires < settings.min_session_expires_s:
        tx.reply(422, headers=[("min-se", str(settings.min_session_expires_s))])
        return True
    max_forwards = request.int_header("max-forwards")
    if max_forwards is not None and max_forwards <= 0:
        tx.reply(483)
        return True
    if "proxy-authorization" in request.headers or "x-nuage-widget" in request.headers:
        return False
    source = tx.source
    if services.dial_plan.known_peer(source.host, source.port):
        return False
    return services.registrar.challenge_now(tx, proxy=True)


async def admit(services: CallServices, tx: ServerTransaction) -> CallController | None:
    """Authenticate an initial INVITE, resolve what was dialled, and start a call for it (once
    ``answer_now`` has not answered it)."""
    request = tx.request
    settings = services.settings
    widget_ticket = request.headers.get("x-nuage-widget")
    if widget_ticket is not None:  # CFG-10: a visitor's call from the click-to-call widget
        return await admit_widget_call(services, tx, widget_ticket)
    dialled = request.uri.user or ""
    source = tx.source
    trunk = await services.dial_plan.find_carrier(source.host, source.port)
    account: SipAccount | None = None
    if trunk is not None:
        destination = await services.dial_plan.resolve_inbound(trunk, dialled)
        direction = Direction.INBOUND
        found = await number_application(services, dialled) if destination is None else None
        if found is not None:  # a number routed to a menu, a schedule or a room: Nuage answers
            return await answer_inbound(services, tx, trunk, found)
    else:
        # SIP-3: a PBX authenticated by its address; anyone else proves who they are (digest)
        account = await services.dial_plan.find_trunk(source.host, source.port)
        if account is None:
            account = await services.registrar.authenticate(tx, proxy=True)
        if account is None:
            return None
        if account.hot_desk and services.hot_desk is not None and is_feature(settings, dialled):
            await hot_desk_feature(services, tx, account, dialled)
            return None
        if services.routing is not None and account.trunk_id is None:  # issue #15, a phone's codes
            feature = parse_feature(dialled)
            if feature is not None:
                await forwarding_feature(services, tx, account, *feature)
                return None
            if is_pickup(dialled):
                await pickup(services, tx, account, dialled)
                return None
        application = await dispatch(services, account, dialled)
        if application is not None:  # a feature code answered by Nuage itself (voicemail...)
            shown = application.shown_callee
            destination = ApplicationDestination(account.account_id)
            attempt = application_attempt(tx, destination, account=account, trunk=None, shown_callee=shown)
            await answer_admitted(services, tx, application.app, attempt, account=account, shown_callee=shown)
            return None
        destination = await services.dial_plan.resolve(account, dialled)
        direction = Direction.OUTBOUND if isinstance(destination, ExternalDestination) else Direction.INTERNAL
    if request.headers.get("replaces") is not None:  # RFC 3891: takes the place of a party Nuage knows
        await replace_dialog(services, tx, account)
        return None
    if isinstance(destination, FaxDestination):
        await _answer_fax(services, tx, destination, account, trunk, dialled)
        return None
    call = CallController(services, tx, account=account, direction=direction)
    if destination is None:
        call.finish_early(404, CallOutcome.NOT_FOUND)
        return None
    emergency = isinstance(destination, ExternalDestination) and destination.emergency
    trunk_id = trunk.trunk_id if trunk is not None else None
    if isinstance(destination, ExternalDestination):
        trunk_id = destination.trunk.trunk_id
    customer_trunk = account.trunk_id if account is not None else None
    if isinstance(destination, TrunkDestination) and customer_trunk is None:
        customer_trunk = destination.trunk_id
    attempt = CallAttempt(
        call_id=request.call_id,
        direction=direction,
        account_id=account.account_id if account else _account_of(destination),
        device_id=account.device_id if account and account.trunk_id is None else None,
        user_id=account.user_id if account else None,
        presented_caller_id=request.from_addr.uri.user or "",
        source_host=source.host,
        source_port=source.port,
        dialled=dialled,
        destination=destination,
        emergency=emergency,
        trunk_id=trunk_id,
        customer_trunk_id=customer_trunk,
    )
    await call.start(attempt)
    return call


async def _answer_fax(
    services: CallServices,
    tx: ServerTransaction,
    destination: FaxDestination,
    account: SipAccount | None,
    trunk: CarrierTrunk | None,
    dialled: str,
) -> None:
    """CFG-7: a number leading to a virtual fax is answered by the fax application (404 if none),
    once the policy agrees (``answer_admitted``: from a carrier an inbound call of the fax's account)."""
    answer = services.applications.fax if services.applications is not None else None
    app = await answer(destination) if answer is not None else None
    attempt = application_attempt(tx, destination, account=account, trunk=trunk, shown_callee=dialled)
    if app is None:
        CallController(services, tx, account=account, direction=attempt.direction).finish_early(
            404, CallOutcome.NOT_FOUND
        )
        return
    await answer_admitted(services, tx, app, attempt, account=account, shown_callee=dialled)


def _account_of(destination: Destination) -> str | None:
    if isinstance(destination, UserDestination | DeviceDestination | TrunkDestination | GroupDestination):
        return destination.account_id
    return None
