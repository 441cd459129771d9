"""Dialogs (RFC 3261 §12): identifiers, CSeq, remote target and route set of one call leg."""

from __future__ import annotations

from nuage.sip.identifiers import new_branch
from nuage.sip.message import Headers, NameAddr, SipRequest, SipResponse, SipUri
from nuage.sip.transport import Address


class Dialog:
    """One side of a dialog as seen by this UA; builds in-dialog requests (§12.2.1.1).

    ``flow`` is where in-dialog requests go when the route set is empty: the address the
    peer's messages came from (symmetric signalling for phones behind NAT) or, for callee
    legs, the address the INVITE was sent to.
    """

    __slots__ = (
        "call_id",
        "flow",
        "local_cseq",
        "local_tag",
        "local_uri",
        "remote_cseq",
        "remote_tag",
        "remote_target",
        "remote_uri",
        "route_set",
        "via_host",
        "via_port",
    )

    def __init__(
        self,
        *,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local_uri: NameAddr,
        remote_uri: NameAddr,
        local_cseq: int,
        remote_cseq: int,
        remote_target: SipUri,
        route_set: list[NameAddr],
        flow: Address,
        via_host: str,
        via_port: int,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.local_cseq = local_cseq
        self.remote_cseq = remote_cseq
        self.remote_target = remote_target
        self.route_set = route_set
        self.flow = flow
        self.via_host = via_host
        self.via_port = via_port

    @classmethod
    def as_uas(cls, request: SipRequest, local_tag: str, source: Address, via: tuple[str, int]) -> Dialog:
        """§12.1.1: the dialog a UAS creates from the request (route set in Record-Route order)."""
        contacts = request.contacts
        target = contacts[0].uri if contacts else request.from_addr.uri
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_tag or "",
            local_uri=request.to_addr.with_tag(local_tag),
            remote_uri=request.from_addr,
            local_cseq=0,
            remote_cseq=request.cseq.number,
            remote_target=target,
            route_set=list(request.name_addrs("record-route")),
            flow=source,
            via_host=via[0],
            via_port=via[1],
        )

    @classmethod
    def as_uac(
        cls, request: SipRequest, response: SipResponse, flow: Address, via: tuple[str, int]
    ) -> Dialog:
        """§12.1.2: the dialog a UAC creates from a response (route set reversed)."""
        contacts = response.contacts
        target = contacts[0].uri if contacts else request.uri
        return cls(
            call_id=request.call_id,
            local_tag=request.from_tag or "",
            remote_tag=response.to_tag or "",
            local_uri=request.from_addr,
            remote_uri=response.to_addr,
            local_cseq=request.cseq.number,
            remote_cseq=0,
            remote_target=target,
            route_set=list(reversed(response.name_addrs("record-route"))),
            flow=flow,
            via_host=via[0],
            via_port=via[1],
        )

    def accepts(self, request: SipRequest) -> bool:
        """§12.2.2: an in-dialog request with a lower CSeq than the last one is out of order."""
        number = request.cseq.number
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_cseq and number <= self.remote_cseq:
            return False
        self.remote_cseq = number
        return True

    def update_target(self, message: SipRequest | SipResponse) -> None:
        """A target refresh (re-INVITE, UPDATE, their 2xx) may change the remote Contact."""
        contacts = message.contacts
        if contacts and not contacts[0].wildcard:
            self.remote_target = contacts[0].uri

    def destination(self) -> Address:
        """Where the next in-dialog request goes: the first route, or the flow."""
        if self.route_set:
            uri = self.route_set[0].uri
            return Address(uri.transport, uri.host, uri.effective_port)
        return self.flow

    def create_request(
        self,
        method: str,
        *,
        transport: str,
        body: bytes = b"",
        content_type: str | None = None,
        cseq: int | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> SipRequest:
        """§12.2.1.1: a request inside the dialog (loose or strict routing)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        headers = Headers()
        via = f"SIP/2.0/{transport} {self.via_host}:{self.via_port};branch={new_branch()};rport"
        headers.add("via", via)
        headers.add("max-forwards", "70")
        headers.add("from", str(self.local_uri))
        headers.add("to", str(self.remote_uri))
        headers.add("call-id", self.call_id)
        headers.add("cseq", f"{cseq} {method}")
        request_uri: SipUri = self.remote_target
        routes = self.route_set
        if routes and routes[0].uri.param("lr") is None:
            request_uri = routes[0].uri  # strict routing (RFC 2543 next hop)
            routes = [*routes[1:], NameAddr(self.remote_target)]
        for route in routes:
            headers.add("route", str(route))
        for name, value in extra or ():
            headers.add(name, value)
        if body:
            headers.add("content-type", content_type or "application/sdp")
        return SipRequest(method, request_uri, headers, body)
