"""BIL-8: the upstream provider's provisioning interface over HTTPS (``ResaleUpstream``).

The contract this adapter speaks (one resource per order, named by the activation's id, so that a
retried order is the same order): ``PUT {base_url}/orders/{id}`` with ``{"customer", "item",
"quantity"}`` answers ``{"id", "status": "pending"|"active"|"refused", "active_from", "reason"}``;
``DELETE {base_url}/orders/{id}`` ends it. A timeout, a connection failure or a 5xx is
``UpstreamUnreachable`` (retried later); another 4xx is a refusal with the provider's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from nuage.resale.ucaas import Activation
from nuage.services.support.upstream import UpstreamAnswer, UpstreamStatus, UpstreamUnreachable

_STATUSES = {s.value: s for s in UpstreamStatus}


@dataclass(frozen=True)
class TelavoxHttpUpstream:
    """BIL-8: the provisioning interface at ``base_url``, with a bearer ``token``."""

    base_url: str
    token: str | None = None
    timeout_s: float = 10.0

    async def _call(self, method: str, activation: Activation, body: dict[str, Any] | None) -> UpstreamAnswer:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = f"{self.base_url.rstrip('/')}/orders/{activation.id}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                answer = await client.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(f"{type(exc).__name__}: {exc}") from exc
        if answer.status_code >= 500 or answer.status_code in (408, 429):
            raise UpstreamUnreachable(f"HTTP {answer.status_code}")
        if method == "DELETE" and answer.status_code == 404:
            return UpstreamAnswer(UpstreamStatus.ENDED)
        try:
            data = answer.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if answer.status_code >= 400:
            return UpstreamAnswer(
                UpstreamStatus.REFUSED, reason=str(data.get("reason") or answer.status_code)[:300]
            )
        status = _STATUSES.get(str(data.get("status")))
        if status is None:
            raise UpstreamUnreachable(f"unexpected answer: {str(data)[:200]}")
        active = data.get("active_from")
        try:
            active_on = date.fromisoformat(active) if isinstance(active, str) else None
        except ValueError:
            raise UpstreamUnreachable(f"unexpected active_from: {str(active)[:40]!r}") from None
        reference = str(data.get("id") or "")[:80] or None
        return UpstreamAnswer(
            status, reference, active_on, str(data["reason"])[:300] if data.get("reason") else None
        )

    async def order(self, activation: Activation) -> UpstreamAnswer:
        """Order the activation (``PUT``: idempotent)."""
        body = {
            "customer": activation.account_id,
            "item": activation.item_code,
            "quantity": activation.quantity,
        }
        return await self._call("PUT", activation, body)

    async def end(self, activation: Activation) -> UpstreamAnswer:
        """End it upstream (``DELETE``)."""
        return await self._call("DELETE", activation, None)
