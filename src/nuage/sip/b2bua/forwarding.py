"""Feature codes of call forwarding and do-not-disturb, dialled on a phone (issue #15).

=====================  ============================================  ===========
code                   what it does                                  off
=====================  ============================================  ===========
``*21*<dest>#``        forward every call to ``<dest>``              ``#21#``
``*67*<dest>#``        forward when busy (or in do-not-disturb)      ``#67#``
``*61*<dest>[*<s>]#``  forward when not answered (after ``s`` s)     ``#61#``
``*62*<dest>#``        forward when no phone is registered           ``#62#``
``*78``                do-not-disturb on                             ``*79``
=====================  ============================================  ===========

``<dest>`` is what the phone would dial (an extension, a SIP username, a number); a ``#`` may be
sent escaped (``%23``) or left out. The code is answered by the platform itself: the call is
answered with its media declined, naming the new setting in the answer's P-Asserted-Identity, and
hung up on the ACK; a refused change (EMG-2: an emergency number; CFG-2: a no-service user) gets
403 with a Warning citing the rule.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.features import declined_media
from nuage.sip.b2bua.services import CallServices
from nuage.sip.message import NameAddr, SipUri
from nuage.sip.ports import CallOutcome, Direction, Refusal, SipAccount
from nuage.sip.transactions import ServerTransaction

FORWARDS = {"21": "unconditional", "67": "busy", "61": "no_answer", "62": "unregistered"}
_ON = re.compile(r"^\*(21|67|61|62)\*(\+?[A-Za-z0-9._-]{2,32}?)(?:\*([0-9]{1,3}))?#?$")
_OFF = re.compile(r"^#(21|67|61|62)#?$")
Change = dict[str, str | bool | float | None]


def parse_feature(dialled: str) -> tuple[str, Change] | None:
    """(the code as the CDR shows it, the change it asks for), or None when ``dialled`` is no such code."""
    text = unquote(dialled).strip()
    if text in ("*78", "*79"):
        return text, {"dnd": text == "*78"}
    on = _ON.match(text)
    if on is not None:
        code, destination, seconds = on.groups()
        change: Change = {FORWARDS[code]: destination}
        if seconds is not None:
            if code != "61":
                return None
            change["no_answer_s"] = float(seconds)
        return f"*{code}", change
    off = _OFF.match(text)
    if off is not None:
        return f"#{off.group(1)}#", {FORWARDS[off.group(1)]: None}
    return None


def _described(change: Change) -> str:
    parts = []
    for name, value in change.items():
        if name == "dnd":
            parts.append(f"Do not disturb {'on' if value else 'off'}")
        elif name != "no_answer_s":
            label = name.replace("_", " ")
            parts.append(f"Forward {label}: {value}" if value else f"Forward {label} off")
    return ", ".join(parts)


async def forwarding_feature(
    services: CallServices, tx: ServerTransaction, phone: SipAccount, code: str, change: Change
) -> None:
    """Store the change for the phone's user and confirm it (see the module)."""
    assert services.routing is not None
    call = CallController(services, tx, account=phone, direction=Direction.INTERNAL)
    call.shown_callee = code  # never the destination: the CDR shows the feature code only
    if phone.user_id is None:
        call.finish_early(404, CallOutcome.NOT_FOUND)  # a phone of nobody has no forwarding
        return
    seconds = change.get("no_answer_s")
    if isinstance(seconds, float) and not 5 <= seconds <= 120:
        call.finish_early(484, CallOutcome.FAILED)
        return
    refused = await services.routing.set_forwarding(phone, **change)
    if refused == "EMG-2":
        call.refuse(Refusal("EMG-2", "calls are never forwarded to an emergency number"), "Forward Refused")
        return
    if refused == "CFG-2":
        call.refuse(Refusal("CFG-2", "a no-service user has no calls to forward"), "Forward Refused")
        return
    if refused is not None:
        call.finish_early(484, CallOutcome.FAILED)  # Address Incomplete: not a destination
        return
    identity = NameAddr(
        SipUri("sip", services.settings.domain, user=code.strip("*#")), display=_described(change)
    )
    call.answer_feature(
        declined_media(tx.request.body, services.settings.domain), (("p-asserted-identity", str(identity)),)
    )
