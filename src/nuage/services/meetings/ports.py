"""The port of the Web Meeting use cases (MTG-1): the WebRTC gateway that runs the rooms.

``MeetingGateway`` is implemented by ``nuage.adapters.janus.JanusGateway`` (Janus's video room over
its HTTP API), one per Janus instance; ``MeetingGateways`` is the set of instances
(``nuage.adapters.janus_pool.JanusPool``) that the composition root (``nuage.bootstrap``) hands to the
edges. Every call is
synchronous and bounded by the adapter's timeout; a gateway that does not answer raises
``UpstreamUnavailable("janus", ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Participant:
    """MTG-1: someone in a room, as the gateway sees them."""

    participant_id: int
    display: str
    publishing: bool


@dataclass(frozen=True)
class GatewayHealth:
    """The operator's view of one gateway: does it answer, which version, which plugins."""

    url: str
    reachable: bool
    version: str | None = None
    plugins: tuple[str, ...] = ()
    error: str | None = None
    name: str = "default"


@dataclass(frozen=True)
class GatewayInstance:
    """MTG-1: one gateway of several, as placement sees it: its share of new rooms (``weight``) and
    the most open rooms it takes (``capacity``, None: no limit)."""

    name: str
    browser_url: str
    weight: int = 1
    capacity: int | None = None


class MeetingGateway(Protocol):
    """MTG-1: the rooms of the WebRTC gateway (audio and video), their PIN and their host controls."""

    def create_room(self, room: int, *, description: str, pin: str, secret: str, publishers: int) -> None:
        """Create room ``room`` (idempotent: an existing room is edited to this PIN)."""
        ...

    def destroy_room(self, room: int, *, secret: str) -> None:
        """Close the room and disconnect everyone in it (a missing room is no error)."""
        ...

    def set_pin(self, room: int, *, secret: str, pin: str) -> None:
        """Change the PIN a browser needs to join (a lock sets one nobody knows)."""
        ...

    def participants(self, room: int) -> list[Participant]:
        """Who is in the room now."""
        ...

    def kick(self, room: int, participant_id: int, *, secret: str) -> None:
        """Remove a participant from the room."""
        ...

    def mute(self, room: int, participant_id: int, *, secret: str, muted: bool) -> None:
        """Stop (or restore) forwarding a participant's audio to the others."""
        ...

    def health(self) -> GatewayHealth:
        """Whether the gateway answers, for the operator's view."""
        ...


class MeetingGateways(Protocol):
    """MTG-1: the gateway instances (one or several); each room lives on one of them."""

    def instances(self) -> list[GatewayInstance]:
        """Every instance, the first one being the default (rooms placed before there were several)."""
        ...

    def gateway(self, name: str | None) -> MeetingGateway:
        """The instance named ``name`` (None: the first one); an unknown name is ``UpstreamUnavailable``."""
        ...

    def health(self) -> list[GatewayHealth]:
        """Whether each instance answers, in the order of ``instances``."""
        ...
