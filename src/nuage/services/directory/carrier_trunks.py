"""The operator's carrier trunks (SIP-1): the gateways to the public network; customers see none (TEN-4)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.model import CarrierTrunk
from nuage.directory.rules import check_carrier_gateway, clean_name
from nuage.errors import NotFound
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.ports import UnitOfWork
from nuage.shared.ids import new_id


@dataclass(frozen=True, kw_only=True)
class CarrierTrunkChanges:
    """What a change of a carrier gateway sets; ``UNSET`` fields stay as they are."""

    name: str | Unset = UNSET
    host: str | Unset = UNSET
    port: int | Unset = UNSET
    transport: str | Unset = UNSET
    enabled: bool | Unset = UNSET


def add_carrier_trunk(uow: UnitOfWork, ctx: Context, name: str, host: str, port: int = 5060) -> CarrierTrunk:
    """SIP-1: the operator's gateway to the public network for outbound and inbound calls."""
    if not ctx.scope.is_operator:
        raise NotFound("carrier trunk", "-")
    check_carrier_gateway(host, port)
    trunk = CarrierTrunk(new_id("car"), clean_name(name), host.strip(), port, ctx.clock.now())
    uow.carrier_trunks.add(trunk)
    return trunk


def get_carrier_trunk(uow: UnitOfWork, ctx: Context, carrier_id: str) -> CarrierTrunk:
    """SIP-1: one of the operator's carrier trunks (others see no such thing, TEN-4)."""
    found = uow.carrier_trunks.find(carrier_id) if ctx.scope.is_operator else None
    if found is None:
        raise NotFound("carrier trunk", carrier_id)
    return found


def update_carrier_trunk(
    uow: UnitOfWork, ctx: Context, carrier_id: str, change: CarrierTrunkChanges
) -> CarrierTrunk:
    """SIP-1: the operator changes a carrier gateway or takes it out of rotation."""
    carrier = get_carrier_trunk(uow, ctx, carrier_id)
    values = given(change)
    if isinstance(change.name, str):
        values["name"] = clean_name(change.name)
    check_carrier_gateway(
        None if isinstance(change.host, Unset) else str(change.host),
        None if isinstance(change.port, Unset) else change.port,
        None if isinstance(change.transport, Unset) else change.transport,
    )
    if isinstance(change.host, str):
        values["host"] = change.host.strip()
    updated = replace(carrier, **values)
    uow.carrier_trunks.update(updated)
    return updated


def remove_carrier_trunk(uow: UnitOfWork, ctx: Context, carrier_id: str) -> None:
    """SIP-1: the operator removes a carrier gateway."""
    carrier = get_carrier_trunk(uow, ctx, carrier_id)
    uow.carrier_trunks.remove(carrier.id)
