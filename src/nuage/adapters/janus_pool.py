"""Several Janus gateways (MTG-1): ``JanusPool`` implements ``MeetingGateways`` over one
``JanusGateway`` per instance of the ``[janus]`` settings (``[janus] url`` first, named ``default``,
then ``[[janus.instances]]``). Health is asked of every instance on each call (Janus's ``/info``,
bounded by the instance's timeout): placement never picks an instance that does not answer.
"""

from __future__ import annotations

from nuage.adapters.janus import JanusClient, JanusGateway
from nuage.errors import UpstreamUnavailable
from nuage.janus_settings import JanusSettings
from nuage.services.meetings.ports import GatewayHealth, GatewayInstance


class JanusPool:
    """``MeetingGateways`` on the Janus instances of the settings."""

    def __init__(self, settings: JanusSettings) -> None:
        self._instances: list[GatewayInstance] = []
        self._gateways: dict[str, JanusGateway] = {}
        self._clients: list[JanusClient] = []
        for instance in settings.gateways():
            client = JanusClient(instance.url, timeout_s=settings.timeout_s)
            key = instance.admin_key.get_secret_value() if instance.admin_key else None
            self._clients.append(client)
            self._gateways[instance.name] = JanusGateway(client, admin_key=key)
            self._instances.append(
                GatewayInstance(instance.name, instance.browser_url, instance.weight, instance.capacity)
            )
        if not self._instances:
            raise ValueError("no Janus instance: set [janus] url or [[janus.instances]]")

    def instances(self) -> list[GatewayInstance]:
        return list(self._instances)

    def gateway(self, name: str | None) -> JanusGateway:
        found = self._gateways.get(name or self._instances[0].name)
        if found is None:
            raise UpstreamUnavailable(
                "janus", f"The room's gateway instance {name!r} is no longer configured", instance=name
            )
        return found

    def health(self) -> list[GatewayHealth]:
        found: list[GatewayHealth] = []
        for instance in self._instances:
            health = self._gateways[instance.name].health()
            found.append(
                GatewayHealth(
                    health.url, health.reachable, health.version, health.plugins, health.error, instance.name
                )
            )
        return found

    def close(self) -> None:
        """Release every instance's HTTP connections."""
        for client in self._clients:
            client.close()
