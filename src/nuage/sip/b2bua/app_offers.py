"""An application's own offers (issue #16): what the caller offers that the media engine does not
carry (a fax switching to T.38: ``m=image udptl t38``), answered by the application itself.

Owns ``OwnOffers``, what such an application has beside being ``async def app(call)``: ``takes``
says whether an offer is its own, ``negotiate`` sets up what it needs and returns the SDP answer,
or raises a ``MediaError`` (``UnsupportedMedia``: 488 with a Warning, RFC 3261 §20.43 code 305).
``answer_with`` asks it for a new call's offer it takes (an INVITE offering T.38 only);
``reoffer`` answers a re-INVITE of the application's caller carrying one: 200 with the
application's answer, its o= line continuing the one the call answered with (same session,
version + 1, RFC 3264 §8), sent reliably until the ACK; a refused offer leaves the call as it was.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from nuage.sip.b2bua.media import media_failure
from nuage.sip.b2bua.states import LegState
from nuage.sip.media import MediaError
from nuage.sip.message.errors import SipParseError
from nuage.sip.message.sdp import SessionDescription

if TYPE_CHECKING:
    from nuage.sip.b2bua.apps import AppCall
    from nuage.sip.b2bua.legs import Leg
    from nuage.sip.transactions import ServerTransaction


@runtime_checkable
class OwnOffers(Protocol):
    """A media application that answers some offers itself (see the module docstring)."""

    def takes(self, offer: bytes) -> bool:
        """Whether ``offer`` is the application's to answer (not the engine's)."""
        ...

    async def negotiate(self, call: AppCall, offer: bytes) -> bytes:
        """The answer to ``offer``; raises MediaError when it is refused."""
        ...

    async def __call__(self, call: AppCall) -> None:
        """The application itself."""
        ...


def continued(previous: bytes, answer: bytes) -> bytes:
    """``answer`` with the o= line of ``previous`` (our last SDP in the call), its version + 1."""
    try:
        before = SessionDescription.parse(previous)
        now = SessionDescription.parse(answer)
    except (SipParseError, UnicodeDecodeError, ValueError):
        return answer
    origin = dataclasses.replace(before.origin, session_version=before.origin.session_version + 1)
    return dataclasses.replace(now, origin=origin).to_bytes()


async def reoffer(session: AppCall, app: OwnOffers, leg: Leg, tx: ServerTransaction) -> None:
    """Answer the caller's re-INVITE ``tx`` with ``app``'s answer (or its refusal)."""
    try:
        answer = continued(session.local_sdp, await app.negotiate(session, tx.request.body))
    except MediaError as exc:
        failure = media_failure(exc, session.call.services.settings.domain)
        tx.reply(failure.status, failure.reason, headers=[("warning", failure.warning or "")])
        leg.incoming_reinvite_done()
        return
    if leg.state is not LegState.CONNECTED:
        tx.reply(481)
        leg.incoming_reinvite_done()
        return
    session.local_sdp = answer
    response = tx.response(200, body=answer)
    response.headers.add("content-type", "application/sdp")
    response.headers.add("contact", leg.own_contact)
    leg.respond_2xx(tx, response)
