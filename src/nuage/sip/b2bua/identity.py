"""Who the callee sees calling: From, To and the identity headers of the callee leg's INVITE.

RFC 3325 P-Asserted-Identity and ``Privacy: id`` towards the carrier, the number presented
(SIP-2: the one the policy authorised) and the emergency caller ID (EMG-2); towards a phone or
a PBX of the platform, the caller's account, or the carrier's caller unless it asked for privacy.
"""

from __future__ import annotations

from nuage.sip.message import NameAddr, SipRequest, SipUri
from nuage.sip.ports import Destination, ExternalDestination, SipAccount

ANONYMOUS = NameAddr(SipUri("sip", "anonymous.invalid", user="anonymous"), display="Anonymous")


def privacy_requested(request: SipRequest) -> bool:
    """RFC 3323/3325: the caller withholds its identity (anonymous From or ``Privacy: id``)."""
    if (request.from_addr.uri.user or "").strip().lower() in ("anonymous", "restricted", "unknown"):
        return True
    values = ";".join(request.headers.get_all("privacy")).lower()
    return any(token.strip() in ("id", "header", "user") for token in values.split(";"))


def callee_identity(
    route: Destination,
    request: SipRequest,
    *,
    account: SipAccount | None,
    domain: str,
    caller_id: str | None,
) -> tuple[NameAddr, NameAddr, list[tuple[str, str]]]:
    """From, To and identity headers of the INVITE that tries ``route`` for ``request``.

    ``account`` is the caller's (None for a call from the carrier), ``caller_id`` the number
    the policy authorised (SIP-2), if any.
    """
    if isinstance(route, ExternalDestination):
        from_addr, headers = towards_carrier(
            route, request, account=account, domain=domain, caller_id=caller_id
        )
        return from_addr, NameAddr(SipUri("sip", route.trunk.host, user=route.e164)), headers
    if account is not None:
        from_addr = NameAddr(
            SipUri("sip", domain, user=account.username), display=account.display_name or None
        )
    elif privacy_requested(request):  # RFC 3325 §7: the carrier asked us to hide the caller
        from_addr = ANONYMOUS
    else:
        original = request.from_addr
        from_addr = NameAddr(
            SipUri("sip", domain, user=original.uri.user or "anonymous"), display=original.display
        )
    return from_addr, NameAddr(SipUri("sip", domain, user=request.uri.user)), []


def towards_carrier(
    route: ExternalDestination,
    request: SipRequest,
    *,
    account: SipAccount | None,
    domain: str,
    caller_id: str | None,
) -> tuple[NameAddr, list[tuple[str, str]]]:
    """From and identity headers of a call to the public network (SIP-2, EMG-2, RFC 3325).

    The number presented is, in order: for an emergency call, the caller's emergency caller
    ID (EMG-2: the number whose block address is where the phone or the PBX stands); the
    number the policy authorised (SIP-2: the account's number the caller presented, e.g. a
    PBX its extensions' numbers, or the main number replacing a foreign one); else the
    device's own number. It is asserted to the carrier in P-Asserted-Identity; a caller who
    asked for privacy (anonymous From, or ``Privacy: id``) gets an anonymous From and
    ``Privacy: id`` (RFC 3325 §9.3), except towards emergency services.
    """
    number: str | None
    if route.emergency:
        number = account.emergency_caller_id or account.caller_id_e164 if account else None
    else:
        number = caller_id or (account.caller_id_e164 if account else None)
    if number is None:
        number = account.username if account else "anonymous"
    asserted = NameAddr(SipUri("sip", domain, user=number), display=account.display_name if account else None)
    headers = [("p-asserted-identity", str(asserted))]
    if privacy_requested(request) and not route.emergency:
        headers.append(("privacy", "id"))
        return ANONYMOUS, headers
    return asserted, headers
