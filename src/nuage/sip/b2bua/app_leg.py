"""One leg the B2BUA places for a media application's caller (issue #16): the menu's choice rung.

Owns ``ring``: the application's call is left by the application and joined to one destination as
a blind transfer the application makes (``nuage.sip.b2bua.bridge``). The new leg's INVITE carries
the engine's offer (the far end's side of the call's anchored session), so the destination may
answer it early: a 1xx with SDP (RFC 3960 early media) points the engine at the destination and
the caller hears what it sends; with a plain 180 the caller hears the ringback tone
(``nuage.sip.b2bua.ringback``). At the 2xx, the destination's answer reaches the caller by
re-INVITE through the session (the codec it chose), and the two talk.

The attempt ends at the destination's failure, after ``ring_s`` without an answer (``timed_out``),
or when the caller hangs up; ``on_over`` hears, once, how the leg ended (200: it was answered, when
the call ends), for the CDR of a leg that has its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from nuage.sip.b2bua.apps import AppCall
from nuage.sip.b2bua.bridge import Phase, Transfer
from nuage.sip.b2bua.callee import CalleeLeg, Target
from nuage.sip.b2bua.events import Fail, Ring
from nuage.sip.b2bua.media import spawn
from nuage.sip.b2bua.ringback import Ringback
from nuage.sip.identifiers import new_tag
from nuage.sip.media import MediaError, Side
from nuage.sip.message import NameAddr

log = logging.getLogger("nuage.sip.apps")

CONNECTED = "connected by a menu"
"""The disposition of the CDR of an application's call the B2BUA bridged to the caller's choice."""


@dataclass(frozen=True, slots=True)
class Rang:
    """How a leg's attempt ended: ``failure`` None once the caller talks with the destination."""

    failure: Fail | None
    timed_out: bool = False  # nobody answered within ``ring_s``


@dataclass(frozen=True, slots=True)
class LegSpec:
    """What the new leg's INVITE says: who calls whom, its extra headers."""

    from_addr: NameAddr
    to_addr: NameAddr
    extra: tuple[tuple[str, str], ...] = ()


async def ring(
    session: AppCall,
    targets: list[Target],
    spec: LegSpec,
    *,
    ring_s: float,
    limit: float | None = None,
    on_over: Callable[[Transfer, int], None] | None = None,
) -> Rang:
    """Ring ``targets`` for at most ``ring_s`` seconds and join the caller to the one that answers;
    ``limit`` (SIP-5) cuts the joined call after that many seconds."""
    call = session.call
    services = call.services
    outcome: asyncio.Future[Fail | None] = asyncio.get_running_loop().create_future()
    transfer = Transfer(
        [call],
        transferee=call.caller_leg,
        transferors=[],
        subscription=None,
        media=session.media,
        side=Side.CALLER,
    )
    ringback = Ringback(session.media, Side.CALLER)
    timed_out = False

    def ringing(event: Ring) -> None:
        if event.body:  # the destination's own tones or announcement (RFC 3960)
            ringback.early()
            spawn(_early_media(session, event.body))
        else:
            ringback.start()

    def bridged() -> None:
        call.disposition = CONNECTED
        if not outcome.done():
            outcome.set_result(None)

    def over(status: int) -> None:
        if on_over is not None:
            on_over(transfer, status)
        if not outcome.done():
            outcome.set_result(Fail(status if status >= 300 else 500, "not joined"))

    def unanswered() -> None:
        nonlocal timed_out
        if transfer.phase is Phase.PENDING and transfer.answered_at is None:
            timed_out = True
            transfer.fail(480, "No Answer")

    transfer.on_ringing = ringing
    transfer.on_answered = ringback.stop
    transfer.on_bridged = bridged
    transfer.on_over = over
    call.transfer = transfer
    scheduler = services.host.scheduler
    timer = scheduler.call_later(ring_s, unanswered)
    limiter = scheduler.call_later(limit, transfer.hang_up, "max duration") if limit is not None else None
    leg = CalleeLeg(
        services.host,
        call,
        targets=targets,
        from_addr=spec.from_addr,
        to_addr=spec.to_addr,
        body=session.far_end_offer,  # the engine's offer: the destination may answer early
        content_type="application/sdp",
        extra_headers=list(spec.extra),
        call_id=new_tag() + new_tag(),
    )
    transfer.target = transfer.new_leg = leg
    log.info("call %s: the application connects the caller to %s", call.call_id, spec.to_addr.uri.user)
    leg.start()
    try:
        failure = await outcome
    finally:
        timer.cancel()
        await ringback.close()
    if failure is not None and limiter is not None:
        limiter.cancel()
    return Rang(failure, timed_out)


async def _early_media(session: AppCall, sdp: bytes) -> None:
    """Point the engine's far end at the destination's early media; the caller hears it."""
    try:
        await session.media.rewrite(Side.CALLEE, sdp)
    except MediaError as exc:
        log.info("call %s: early media not relayed: %s", session.call_id, exc)
