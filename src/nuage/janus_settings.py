"""The ``[janus]`` settings (MTG-1): the Janus WebRTC gateway that browsers reach for Web Meeting and
browser calls, and the STUN/TURN servers they are told to use.

Nuage reaches Janus's HTTP API at ``url`` (keep it on a private network: the API creates sessions);
browsers reach it at ``public_url`` (behind a TLS proxy in production). Rooms are created with the
video room's ``admin_key`` (the same value as ``admin_key`` in ``janus.plugin.videoroom.jcfg``), so a
browser cannot create rooms of its own. Browsers behind NAT need a TURN server (``coturn``).

Several gateways: ``[[janus.instances]]`` lists more Janus processes (``name``, ``url``, ``public_url``,
``admin_key``, ``weight``, ``capacity``); ``[janus] url``, when set, is the instance named
``default``. Each meeting room is placed on one instance when it opens and stays there
(``nuage.services.meetings.placement``); the browser phones and the widget use the first instance.

With no ``url`` set, ``nuage serve`` runs Janus itself when the ``janus`` binary is installed
(``embedded``, the default): bound to 127.0.0.1 on ``embedded_port`` (0: a free port), configured under
the data directory (``janus/``) with a random ``admin_key``, its SIP plugin registering to Nuage's own
SIP listener. That is for a demo or one machine; ``embedded = false`` turns it off.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

IceUrl = Annotated[str, Field(pattern=r"^(stun|stuns|turn|turns):[^\s]{1,250}$")]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s]{1,300}$")]


InstanceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
DEFAULT_INSTANCE = "default"


class JanusInstance(BaseModel):
    """MTG-1: one Janus gateway of several: its name, where Nuage and browsers reach it, its room admin
    key, and how many rooms it takes (``weight``: its share of new rooms; ``capacity``: at most this
    many open rooms, None: no limit)."""

    model_config = ConfigDict(extra="forbid")

    name: InstanceName
    url: HttpUrl
    public_url: HttpUrl | None = None
    admin_key: SecretStr | None = None
    weight: int = Field(default=1, ge=1, le=1000)
    capacity: int | None = Field(default=None, ge=1, le=100_000)

    @property
    def browser_url(self) -> str:
        """Where browsers reach this instance."""
        return self.public_url or self.url


class JanusSettings(BaseModel):
    """MTG-1: one Janus gateway: where Nuage and browsers reach it, the room admin key, STUN/TURN."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None  # e.g. http://127.0.0.1:8088/janus; None: Web Meeting is off
    public_url: HttpUrl | None = None  # as browsers reach it; None: ``url``
    admin_key: SecretStr | None = None  # the video room's admin_key
    timeout_s: float = Field(default=5.0, gt=0, le=60)  # one request to Janus
    stun_urls: list[IceUrl] = Field(default_factory=list, max_length=8)
    turn_urls: list[IceUrl] = Field(default_factory=list, max_length=8)
    turn_username: str | None = Field(default=None, max_length=200)
    turn_password: SecretStr | None = None
    sip_proxy: str | None = Field(default=None, pattern=r"^sips?:[^\s]{1,250}$")  # Janus -> Nuage SIP
    sip_domain: str | None = Field(default=None, max_length=253)  # the domain of the browser phones' AoR
    instances: list[JanusInstance] = Field(default_factory=list, max_length=32)

    @model_validator(mode="after")
    def _distinct_names(self) -> Self:
        names = [instance.name for instance in self.gateways()]
        if len(names) != len(set(names)):
            raise ValueError("each [[janus.instances]] has a name of its own (not 'default' twice)")
        return self

    def gateways(self) -> list[JanusInstance]:
        """MTG-1: every Janus instance: ``[janus] url`` (named ``default``) first, then the listed ones."""
        found = list(self.instances)
        if self.url is not None:
            first = JanusInstance(
                name=DEFAULT_INSTANCE, url=self.url, public_url=self.public_url, admin_key=self.admin_key
            )
            found.insert(0, first)
        return found

    embedded: bool = True  # no ``url``: ``nuage serve`` runs Janus on loopback itself, when installed
    embedded_port: int = Field(default=0, ge=0, le=65535)  # its HTTP port on 127.0.0.1; 0: a free one

    @property
    def browser_url(self) -> str | None:
        """Where browsers reach the first gateway (browser phones, widget)."""
        found = self.gateways()
        return found[0].browser_url if found else None

    def ice_servers(self) -> list[dict[str, object]]:
        """The ``RTCPeerConnection`` ``iceServers`` a browser is given."""
        servers: list[dict[str, object]] = []
        if self.stun_urls:
            servers.append({"urls": list(self.stun_urls)})
        if self.turn_urls:
            turn: dict[str, object] = {"urls": list(self.turn_urls)}
            if self.turn_username:
                turn["username"] = self.turn_username
            if self.turn_password:
                turn["credential"] = self.turn_password.get_secret_value()
            servers.append(turn)
        return servers
