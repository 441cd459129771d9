"""Call pickup (issue #15): answer, from one's own phone, a call ringing another user of the account.

``*8`` (group pickup) picks up a call ringing any other user of the caller's account (the one
ringing longest); ``**<extension>`` (directed pickup) the call ringing that extension's user. The
picking phone's INVITE becomes the callee leg of the ringing call: the phones that rang get a
CANCEL, the caller gets the picking phone's SDP as the answer and the picking phone the caller's
(both offers, taken as each other's answer: phones offering a common codec, G.711 at least, agree).
The call keeps its one CDR, answered. Nothing ringing to pick up: 404; an INVITE without an offer
(either side's): 488.
"""

from __future__ import annotations

from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.events import Connect
from nuage.sip.b2bua.legs import CallerLeg
from nuage.sip.b2bua.services import CallServices
from nuage.sip.b2bua.states import CallState
from nuage.sip.ports import CallOutcome, Direction, SipAccount, UserDestination
from nuage.sip.transactions import ServerTransaction

GROUP_PICKUP = "*8"
DIRECTED_PICKUP = "**"


def is_pickup(dialled: str) -> bool:
    """Whether ``dialled`` is a pickup code."""
    return dialled == GROUP_PICKUP or (dialled.startswith(DIRECTED_PICKUP) and dialled[2:].isdigit())


class PickerLeg(CallerLeg):
    """The picking phone's INVITE, answered as the callee leg of the call it picks up."""

    role = "callee"
    answer_offer_pending = False  # the picking phone's INVITE carried its offer

    @property
    def call_id(self) -> str:
        """The Call-ID of the picking phone's dialog."""
        return self.tx.request.call_id

    def cancel(self) -> None:
        """Nothing rings on this side: it answered already."""

    def ack_with(self, body: bytes, content_type: str | None) -> None:
        """Never waiting for an ACK's answer (see ``answer_offer_pending``)."""


async def find_ringing(services: CallServices, phone: SipAccount, dialled: str) -> CallController | None:
    """The call ``phone`` may pick up with ``dialled`` (see the module), or None."""
    routing = services.routing
    if routing is None:
        return None
    wanted: str | None = None
    if dialled != GROUP_PICKUP:
        target = await services.dial_plan.resolve(phone, dialled[len(DIRECTED_PICKUP) :])
        if not isinstance(target, UserDestination) or target.account_id != phone.account_id:
            return None
        wanted = target.user_id
    candidates = sorted(services.ringing.values(), key=lambda call: call.started_at)
    for call in candidates:
        if call.state is not CallState.ROUTING or call.callee_leg is None:
            continue
        ringing = call.hunt.ringing - {phone.user_id}
        users = [routing.user(user_id) for user_id in ringing]
        same_account = [user for user in users if user is not None and user.account_id == phone.account_id]
        if same_account and (wanted is None or wanted in ringing):
            return call
    return None


async def pickup(services: CallServices, tx: ServerTransaction, phone: SipAccount, dialled: str) -> None:
    """Pick up the call ``dialled`` names for ``phone`` (see the module)."""
    call = await find_ringing(services, phone, dialled)
    if call is None or call.callee_leg is None or not call.offer or not tx.request.body:
        attempt = CallController(services, tx, account=phone, direction=Direction.INTERNAL)
        attempt.shown_callee = dialled
        if call is None or call.callee_leg is None:
            attempt.finish_early(404, CallOutcome.NOT_FOUND)
        else:  # a delayed offer on either side: no offers to exchange
            attempt.finish_early(488, CallOutcome.FAILED)
        return
    ringing = call.callee_leg
    picker = PickerLeg(services.host, call, tx)
    picker.user_id = phone.user_id  # CFG-9: the recording choice follows who answered
    call.callee_leg = picker  # the controller's callee side
    ringing.cancel()  # its Fail comes from a leg no longer the call's: ignored
    picker.send(Connect(call.offer, "application/sdp"))
    call.on_event(picker, Connect(tx.request.body, tx.request.headers.get("content-type")))
