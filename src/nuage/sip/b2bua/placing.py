"""Placing a call's callee leg for one step of its hunt: what the targets are offered and shown.

Owns the offer the step's targets get (SIP-5: SDES keys only between TLS legs; an offer that
mandates SRTP towards a leg that is not TLS is refused 488 with a Warning citing SIP-5, and the
targets that cannot take it are dropped), who the callee sees calling (``identity``: RFC 3325,
SIP-2's caller ID; a forwarded external leg shows the forwarding user's account), the headers
passed on from the caller's INVITE (session timers, Supported, Allow) and the leg itself, made the
call's callee leg and started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuage.sip.b2bua.callee import CalleeLeg
from nuage.sip.b2bua.events import Fail
from nuage.sip.b2bua.hunt import Step
from nuage.sip.b2bua.identity import callee_identity
from nuage.sip.identifiers import new_tag
from nuage.sip.ports import CallOutcome, Refusal
from nuage.sip.responses import warning_header
from nuage.sip.tls_sdes import REFUSAL_REASON, RULE, offer_for

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController

PASSED_ON = ("session-expires", "min-se", "supported", "allow")
"""The caller's INVITE headers the callee leg's INVITEs carry too."""


def place(call: CallController, step: Step) -> CalleeLeg | None:
    """Start ``call``'s callee leg towards ``step``'s targets (None: refused by SIP-5, the call ended)."""
    request = call.request
    targets = step.targets
    offer = offer_for(call.offer, call.caller_leg.transport, [t.destination.transport for t in targets])
    if offer is None:
        call.refusal_rule = RULE
        warning = warning_header(Refusal(RULE, REFUSAL_REASON), call.services.settings.domain)
        call.caller_leg.send(Fail(488, "Not Acceptable Here", warning))
        call.end(488, CallOutcome.REFUSED)
        return None
    body, allowed = offer
    targets = [target for target, ok in zip(targets, allowed, strict=True) if ok]
    from_addr, to_addr, extra = callee_identity(
        step.route,
        request,
        account=step.account or call.account,  # a forwarded external leg: the forwarding user's
        domain=call.services.settings.domain,
        caller_id=step.caller_id if step.account else call.imposed_caller_id,
    )
    extra.extend(step.headers)
    for name in PASSED_ON:
        for value in request.headers.get_all(name):
            extra.append((name, value))
    leg = CalleeLeg(
        call.services.host,
        call,
        targets=targets,
        from_addr=from_addr,
        to_addr=to_addr,
        body=body,
        content_type=request.headers.get("content-type"),
        extra_headers=extra,
        call_id=new_tag() + new_tag(),
    )
    call.callee_leg = leg
    leg.start()
    return leg
