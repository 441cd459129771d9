"""Anchoring one call's media (issue #15): whether to, the caller's offer rewritten at the start,
and the callee's early or final answer rewritten before it reaches the caller.

The decision and the SDP rewriting rules are ``nuage.sip.b2bua.media``'s; here is what the call
does with them. An engine's error ends the call with the engine's status and Warning.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from nuage.directory.recording import CallParties
from nuage.sip.b2bua.events import Connect, Disconnect, Ring
from nuage.sip.b2bua.legs import Leg
from nuage.sip.b2bua.media import CallMedia, media_failure, needs_anchor, recording_plan
from nuage.sip.b2bua.states import CallState
from nuage.sip.media import MediaError, Side
from nuage.sip.ports import MEDIA_TIMEOUT, CallOutcome, Direction, UserDestination

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController


async def anchor(call: CallController) -> bool:
    """Anchor the media when the operator or a NAT'd caller wants it (issue #15); False: the
    call ended meanwhile, or the engine refused it (answered with its status and Warning)."""
    services, tx = call.services.media, call.caller_leg.tx
    if services is None or b"RTP/SAVP" in call.request.body:
        return True  # SRTP is keyed end to end between TLS legs: never anchored, never recorded
    account_id = call.attempt.account_id if call.attempt is not None else None
    recording = await recording_plan(services, account_id, call.call_id, call_parties(call))  # CFG-9
    if recording is None and not needs_anchor(services.anchor, call.request, tx.source.host):
        return call.state is CallState.WAIT_ROUTE
    media = CallMedia(services, call.call_id, recording, account_id)
    call.use_media(media)
    media.watch(lambda: call.hang_up_both("media stopped", MEDIA_TIMEOUT))  # the CDR says why
    try:
        call.offer = await media.rewrite(Side.CALLER, call.request.body)
    except MediaError as exc:
        if call.state is CallState.WAIT_ROUTE:
            failure = media_failure(exc, call.services.settings.domain)
            call.caller_leg.send(failure)
            call.end(failure.status, CallOutcome.FAILED)
        return False
    return call.state is CallState.WAIT_ROUTE


def call_parties(call: CallController) -> CallParties | None:
    """CFG-9: who is on the call as the account's recording choice sees them: the calling user, the
    users its routes ring, the number it arrived on or presents going out."""
    attempt = call.attempt
    if attempt is None:
        return None
    direction = attempt.direction
    presented = {attempt.presented_caller_id, call.imposed_caller_id or ""} - {""}
    return CallParties(
        made=direction is not Direction.INBOUND,
        received=direction is not Direction.OUTBOUND,
        caller_user_id=attempt.user_id,
        callee_user_ids=frozenset(
            item.route.user_id for item in call.hunt.queue if isinstance(item.route, UserDestination)
        ),
        numbers_called=frozenset({attempt.dialled}) if direction is Direction.INBOUND else frozenset(),
        numbers_presented=frozenset(presented) if direction is Direction.OUTBOUND else frozenset(),
    )


async def anchored(call: CallController, leg: Leg, event: Ring | Connect) -> None:
    """The callee's early or final answer, rewritten to point the caller at the engine."""
    assert call.media is not None
    try:
        body = await call.media.rewrite(Side.CALLEE, event.body)
    except MediaError as exc:
        if isinstance(event, Connect):
            leg.bye()
        if call.state is CallState.ROUTING:
            failure = media_failure(exc, call.services.settings.domain)
            if call.callee_leg is not None:
                call.callee_leg.send(Disconnect("media"))
            call.caller_leg.send(failure)
            call.end(failure.status, CallOutcome.FAILED)
        return
    rewritten = dataclasses.replace(event, body=body)
    if isinstance(rewritten, Connect):
        call.connected(leg, rewritten)
    elif call.state is CallState.ROUTING:
        call.caller_leg.send(rewritten)
