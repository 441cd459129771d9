"""BIL-8: the Telavox upstream job ``nuage serve`` runs: orders the activations that wait and reads
back the pending ones, every ``[telavox] sync_every_s``, through the upstream ``[telavox]`` names."""

from __future__ import annotations

import asyncio
import logging

from nuage.adapters.telavox import TelavoxHttpUpstream
from nuage.adapters.telavox_sim import SimulatedUpstream
from nuage.bootstrap import Platform
from nuage.services.support import upstream
from nuage.services.support.upstream import ResaleUpstream
from nuage.shared.clock import business_date

log = logging.getLogger("nuage.support.upstream")


def upstream_of(platform: Platform) -> ResaleUpstream | None:
    """The upstream ``[telavox] upstream`` names (None: activations are confirmed by hand)."""
    settings = platform.settings.telavox
    if settings.upstream == "simulated":
        return SimulatedUpstream(today=lambda: business_date(platform.clock.now()))
    if settings.upstream == "http" and settings.base_url:
        token = settings.token.get_secret_value() if settings.token else None
        return TelavoxHttpUpstream(settings.base_url, token, settings.timeout_s)
    return None


async def telavox_job(platform: Platform, provider: ResaleUpstream) -> None:
    """Sync the activations with the upstream until cancelled; a failed round is tried again."""
    every = platform.settings.telavox.sync_every_s
    while True:
        try:
            report = await upstream.sync(platform.uow, provider, platform.clock)
            if report.activated or report.refused:
                log.info("Telavox: %d activated, %d refused", len(report.activated), len(report.refused))
        except Exception:  # the database away for a moment: the next round tries again
            log.exception("Telavox upstream round failed")
        await asyncio.sleep(every)
