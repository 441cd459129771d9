"""Anchoring one call's media (issue #15): whether to, the caller's offer rewritten at the start,
and the callee's early or final answer rewritten before it reaches the caller.

A call of an account that records any of its calls (CFG-9) is anchored from the start: whether
this one is recorded is decided only once its answering party is known, and again when a transfer
joins another (``nuage.sip.b2bua.recording``), so the media must already flow through the engine.

The decision and the SDP rewriting rules are ``nuage.sip.b2bua.media``'s; here is what the call
does with them. An engine's error ends the call with the engine's status and Warning.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from nuage.sip.b2bua.events import Connect, Disconnect, Ring
from nuage.sip.b2bua.legs import Leg
from nuage.sip.b2bua.media import CallMedia, account_recording, media_failure, needs_anchor
from nuage.sip.b2bua.states import CallState
from nuage.sip.media import MediaError, Side
from nuage.sip.ports import MEDIA_TIMEOUT, CallOutcome

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController


async def anchor(call: CallController) -> bool:
    """Anchor the media when the operator, a NAT'd caller or the account's recording choice (CFG-9)
    wants it (issue #15); False: the
    call ended meanwhile, or the engine refused it (answered with its status and Warning)."""
    services, tx = call.services.media, call.caller_leg.tx
    if services is None or b"RTP/SAVP" in call.request.body:
        return True  # SRTP is keyed end to end between TLS legs: never anchored, never recorded
    account_id = call.attempt.account_id if call.attempt is not None else None
    recording = await account_recording(services, account_id, call.call_id)  # CFG-9
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
