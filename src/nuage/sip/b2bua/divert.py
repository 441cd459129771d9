"""Where a call goes when the user it rang does not take it: the user's voicemail (issue #16).

A call whose hunt ends on a user who is busy (486/600, or do-not-disturb), does not answer (the
ring time ran out: 408/480) or has no phone registered (480), and whose forwards (if any) led
nowhere, is answered by the application the server's ``Applications.divert`` names for that user
and reason (voicemail's box, greeting "busy" or "unavailable"); a user without one, or a call
without an SDP offer to answer, gets the failure as before. The caller hanging up while the box
is looked up ends the call as any cancel does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from nuage.sip.b2bua.events import Fail
from nuage.sip.b2bua.records import outcome_of
from nuage.sip.b2bua.states import CallState
from nuage.sip.ports import CallOutcome

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController

log = logging.getLogger("nuage.sip.calls")

# the failures that mean the user did not take the call, as its CDR classes them
REASONS = {CallOutcome.BUSY: "busy", CallOutcome.NO_ANSWER: "unavailable"}


def diversion(call: CallController, failure: Fail) -> tuple[str, str] | None:
    """``(user_id, reason)`` when ``failure`` is a user's not taking the call and the server has
    somewhere to send such calls; else None."""
    applications = call.services.applications
    user = call.hunt.last_user
    if applications is None or applications.divert is None or user is None or not call.request.body:
        return None
    reason = REASONS.get(outcome_of(failure.status))
    return (user.user_id, reason) if reason is not None else None


async def divert_or_fail(
    call: CallController, failure: Fail, diverted: tuple[str, str], outcome: CallOutcome | None
) -> None:
    """Answer the call with the user's application, or fail it with ``failure`` when there is none."""
    from nuage.sip.b2bua.apps import answer_with  # the applications' runtime imports the controller

    applications = call.services.applications
    assert applications is not None
    assert applications.divert is not None
    try:
        application = await applications.divert(*diverted)
    except Exception:
        log.exception("call %s: no diversion for %s (%s)", call.call_id, *diverted)
        application = None
    if call.state is not CallState.ROUTING:
        return  # the caller hung up meanwhile
    if application is None:
        call.fail(failure, outcome, divert=False)
        return
    call.disposition = f"diverted: {diverted[1]}"
    await answer_with(call, application)
