"""Call recording in the B2BUA (CFG-9): who is on a call as the account's recording choice sees
them, and that choice applied again each time it changes.

The choice is not decided once for the dialled target but when the answering leg is known: a call
that reaches a selected user as a ring-group member, through a forward, a pickup or a transfer is
recorded from the moment that user answers or is joined, and a transfer that takes the call away
from every selected party stops the recording (what was recorded so far is stored; a later
transfer back to a selected party starts a new recording of the same call). The parties are the
user who made the call, while their leg is on it (the call is one they made); the users on its
other legs, who received it (the phone that answered, a picking phone, a transfer's target); the
number it arrived on (it stays a call of that number whoever takes it) and the one it presents
while its maker is on it. Starting and stopping is ``CallMedia.record``'s; an account that records any of its
calls has them anchored from the start (``nuage.sip.b2bua.anchoring``), so that the media plane
can start recording mid-call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuage.directory.recording import CallParties
from nuage.sip.b2bua.bridge import Phase
from nuage.sip.b2bua.legs import Leg
from nuage.sip.b2bua.media import spawn
from nuage.sip.media import Side
from nuage.sip.ports import Direction

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController


def legs_on(call: CallController) -> tuple[Leg | None, Leg | None]:
    """The legs on the caller's and the callee's side of the call's media now: its own two, or
    once a transfer joined them, the transferee and the target (which took the transferor's side)."""
    joined = call.transfer
    if joined is not None and joined.phase is Phase.BRIDGED:
        sides = {joined.side: joined.transferee, joined.side.other: joined.target}
        return sides[Side.CALLER], sides[Side.CALLEE]
    return call.caller_leg, call.callee_leg


def call_parties(call: CallController) -> CallParties | None:
    """CFG-9: the call as the recording choice sees it now (None: not a call of an account yet)."""
    attempt = call.attempt
    if attempt is None:
        return None
    direction = attempt.direction
    legs = [leg for leg in legs_on(call) if leg is not None]
    caller_on = any(leg is call.caller_leg for leg in legs)
    answering = frozenset(
        leg.user_id for leg in legs if leg is not call.caller_leg and leg.user_id is not None
    )
    made = caller_on and direction is not Direction.INBOUND
    presented = {attempt.presented_caller_id, call.imposed_caller_id or ""} - {""}
    return CallParties(
        made=made,
        received=direction is not Direction.OUTBOUND or bool(answering),
        caller_user_id=attempt.user_id if caller_on else None,
        callee_user_ids=answering,
        numbers_called=frozenset({attempt.dialled}) if direction is Direction.INBOUND else frozenset(),
        numbers_presented=frozenset(presented) if made and direction is Direction.OUTBOUND else frozenset(),
    )


def follow(call: CallController) -> None:
    """CFG-9: apply the account's choice to the call as it stands now (answered, or joined to a
    transfer's target): recording starts, goes on or stops."""
    if call.media is not None:
        spawn(call.media.record(call_parties(call)))
