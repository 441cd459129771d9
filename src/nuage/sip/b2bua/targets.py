"""Where a route rings: the Request-URIs and addresses of the callee leg's INVITEs.

A user rings on every registered device (forking), a device on its bindings, a customer trunk
(SIP-3) on its fixed address or its registered bindings with the number dialled in the
Request-URI, the public network through the carrier trunk.
"""

from __future__ import annotations

from nuage.sip.b2bua.callee import Target
from nuage.sip.message import SipUri
from nuage.sip.ports import (
    ApplicationDestination,
    Destination,
    ExternalDestination,
    FaxDestination,
    GroupDestination,
    TrunkDestination,
    UserDestination,
)
from nuage.sip.registrar import Registrar
from nuage.sip.transport import Address


def targets_of(route: Destination, registrar: Registrar, dialled: str | None) -> list[Target]:
    """The targets of ``route`` now (none: nobody registered); ``dialled`` is what the caller dialled."""
    if isinstance(route, ExternalDestination):
        trunk = route.trunk
        uri = SipUri("sip", trunk.host, user=route.e164, port=trunk.port)
        return [Target(uri, Address(trunk.transport, trunk.host, trunk.port))]
    if isinstance(route, ApplicationDestination):
        return []  # Nuage answers it itself (``nuage.sip.b2bua.inbound_apps``)
    did: str | None = None
    user_id: str | None = None  # a user's phones: whose (CFG-9 follows who answers)
    if isinstance(route, GroupDestination):
        return []  # a ring group rings its members: the hunt (``nuage.sip.b2bua.hunt``) expands it
    if isinstance(route, UserDestination):
        device_ids, user_id = route.device_ids, route.user_id
    elif isinstance(route, TrunkDestination):
        # SIP-3: the PBX routes on the number dialled, so it goes in the Request-URI
        did = dialled
        if route.host is not None:
            uri = SipUri("sip", route.host, user=did, port=route.port)
            return [Target(uri, Address(route.transport, route.host, route.port))]
        device_ids = (route.trunk_id,)  # a registered PBX's bindings are kept under its trunk id
    elif isinstance(route, FaxDestination):  # answered by the fax application, never rung
        return []
    else:
        device_ids = (route.device_id,)
    targets = []
    for device_id in device_ids:
        for binding in registrar.contacts(device_id):
            try:
                uri = SipUri.parse(binding.contact)
            except ValueError:
                continue
            if did is not None:
                uri = uri.with_user(did)
            flow = Address(binding.source_transport, binding.source_host, binding.source_port)
            targets.append(Target(uri, flow, user_id))
    return targets
