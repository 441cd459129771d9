"""Where a meeting room opens when there are several gateway instances (MTG-1).

``choose_instance``: among the instances that answer and are below their ``capacity``, the one with
the fewest open rooms for its ``weight`` (ties: the order of the settings). A room stays on the
instance it was placed on (``MeetingRoom.gateway_instance``) for as long as it is open.
``place_room`` applies it to a room; ``gateway_overview`` is the operator's view of every instance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from nuage.directory.meetings import MeetingRoom, MeetingStatus
from nuage.errors import UpstreamUnavailable
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.meetings.ports import GatewayHealth, GatewayInstance, MeetingGateways


def choose_instance(
    instances: Sequence[GatewayInstance], health: Sequence[GatewayHealth], open_rooms: Mapping[str, int]
) -> str:
    """MTG-1: the instance a new room is placed on; ``UpstreamUnavailable`` when none can take it."""
    answers = {found.name for found in health if found.reachable}
    best: tuple[Fraction, int, str] | None = None
    for order, instance in enumerate(instances):
        rooms = open_rooms.get(instance.name, 0)
        if instance.name not in answers:
            continue
        if instance.capacity is not None and rooms >= instance.capacity:
            continue
        key = (Fraction(rooms + 1, instance.weight), order, instance.name)
        if best is None or key < best:
            best = key
    if best is None:
        raise UpstreamUnavailable(
            "janus", "No Web Meeting gateway answers with room to spare: try again later"
        )
    return best[2]


def open_rooms(uow: BillingUnitOfWork, instances: Sequence[GatewayInstance]) -> dict[str, int]:
    """MTG-1: the open rooms of each instance (rooms opened before there were several: the first)."""
    found = {
        instance.name: uow.meeting_rooms.count(
            status=MeetingStatus.ACTIVE.value, gateway_instance=instance.name
        )
        for instance in instances
    }
    if instances:
        unplaced = uow.meeting_rooms.count(status=MeetingStatus.ACTIVE.value, gateway_instance=None)
        found[instances[0].name] += unplaced
    return found


def place_room(uow: BillingUnitOfWork, room: MeetingRoom, gateways: MeetingGateways) -> str:
    """MTG-1: the instance a room opens on: where it was placed before, else ``choose_instance``."""
    if room.gateway_instance is not None:
        return room.gateway_instance
    instances = gateways.instances()
    if len(instances) == 1:
        return instances[0].name
    return choose_instance(instances, gateways.health(), open_rooms(uow, instances))


@dataclass(frozen=True)
class InstanceView:
    """The operator's view of one instance: its settings, its health, its open rooms."""

    instance: GatewayInstance
    health: GatewayHealth
    open_rooms: int


def gateway_overview(uow: BillingUnitOfWork, gateways: MeetingGateways) -> list[InstanceView]:
    """MTG-1: every gateway instance, whether it answers and how many rooms are open on it."""
    instances = gateways.instances()
    rooms = open_rooms(uow, instances)
    return [
        InstanceView(instance, health, rooms[instance.name])
        for instance, health in zip(instances, gateways.health(), strict=True)
    ]
