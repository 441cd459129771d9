"""RFC 3891 Replaces in an INVITE: a newcomer takes the place of one party of a call Nuage has.

A phone of the account (never the carrier: TEN-4) sends an INVITE whose ``Replaces`` names a leg's
dialog (e.g. a call picked up, or the transferee's half of an attended transfer done by the
phones themselves); the party of that leg is released and the newcomer joined to the call's other
party through the same machinery as a transfer (``nuage.sip.b2bua.bridge``): its offer goes to the
party who stays in a re-INVITE, whose answer answers the newcomer. An unknown dialog gets 481, a
call of another account 403 citing TEN-4, an INVITE without an offer 488.
"""

from __future__ import annotations

import logging

from nuage.sip.b2bua.bridge import Transfer
from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.events import Connect
from nuage.sip.b2bua.refer import MalformedRefer, replaces_header
from nuage.sip.b2bua.services import CallServices
from nuage.sip.b2bua.states import CallState
from nuage.sip.b2bua.transfer import RULE, find_leg, refuse, side_of, transferee_of, warning_text
from nuage.sip.ports import CallOutcome, Direction, Refusal, SipAccount
from nuage.sip.transactions import ServerTransaction

log = logging.getLogger("nuage.sip.transfer")


async def replace_dialog(services: CallServices, tx: ServerTransaction, account: SipAccount | None) -> None:
    """RFC 3891: an INVITE with ``Replaces`` naming a leg of a call of the caller's account: the
    newcomer takes that leg's place (its party is released), joined to the call's other party."""
    domain = services.settings.domain
    try:
        replaces = replaces_header(tx.request)
    except MalformedRefer as exc:
        tx.reply(400, "Bad Replaces", headers=[("warning", warning_text(domain, str(exc)))])
        return
    found = find_leg(services.live_calls(), replaces) if replaces is not None else None
    if found is None:
        tx.reply(481, "Replaced Dialog Not Found")
        return
    call, replaced = found
    if account is None or (call.attempt.account_id if call.attempt else None) != account.account_id:
        refuse(tx, domain, Refusal(RULE, "the replaced call is not of the account"))
        return
    stays = transferee_of(call, replaced)
    if stays is None or call.transfer is not None or not tx.request.body:
        tx.reply(481 if stays is None else 491 if call.transfer is not None else 488)
        return
    newcomer = CallController(services, tx, account=account, direction=Direction.INTERNAL)
    transfer = Transfer(
        [call, newcomer],
        transferee=stays,
        transferors=[replaced],
        subscription=None,
        media=call.media,
        side=side_of(call, stays),
    )
    transfer.target = newcomer.caller_leg
    call.transfer = newcomer.transfer = transfer
    log.info("call %s: dialog replaced by call %s", call.call_id, newcomer.call_id)

    def answer(body: bytes) -> None:
        if not body:
            newcomer.finish_early(488, CallOutcome.FAILED)
            return
        newcomer.state, newcomer.answered_at = CallState.CONNECTED, services.clock.now()
        newcomer.caller_leg.send(Connect(body, "application/sdp"))

    transfer.join(tx.request.body, answer)
