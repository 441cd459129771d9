"""The SIP runtime's adapters chosen from the settings (composition root, SIP side): where bans,
nonce counts and channel counts live (the database, memory or Redis), the node's name, and the
security and auto-dialer thresholds. ``bootstrap.SipRuntime`` wires what these return.
"""

from __future__ import annotations

import secrets
import socket
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from nuage.config import Settings

if TYPE_CHECKING:
    from nuage.adapters.redis_nonces import RedisNonceCounts
    from nuage.policy import AutoDialerThresholds, Channels
    from nuage.sip.ports import BanStore
    from nuage.sip.security import SecuritySettings


def ban_store(settings: Settings, engine: Engine) -> BanStore:
    """SIP-5: the bans' store ``sip.bans`` names: the database, or Redis (shared by the SIP nodes)."""
    config = settings.sip
    if config.bans == "redis":
        from nuage.adapters.redis_bans import RedisBanStore

        return RedisBanStore(config.redis_url or settings.api.redis_url, prefix=config.redis_key_prefix)
    from nuage.storage.sql.sip_bans import SqlBanStore

    return SqlBanStore(engine)


async def close_ban_store(store: BanStore) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        await close()


def nonce_counts(settings: Settings) -> RedisNonceCounts | None:
    """Digest nonce counts shared in Redis when ``sip.nonce_counts`` says so (None: in memory)."""
    from nuage.adapters.redis_nonces import RedisNonceCounts

    config = settings.sip
    if config.nonce_counts == "memory":
        return None
    return RedisNonceCounts(
        config.redis_url or settings.api.redis_url,
        prefix=config.redis_key_prefix,
        local_max=config.nonce_counts_max,
    )


def node_id(settings: Settings) -> str | None:
    """The SIP node's stable name: ``sip.node_id``, else its machine and address (None: a port the OS
    chooses). A node started again under it closes the calls it lost (the crash journal) and gives
    their channels back at once (CAP-3: its Redis holds are rewritten)."""
    config = settings.sip
    if config.node_id:
        return config.node_id
    return f"{socket.gethostname()}/{config.host}:{config.port}" if config.port else None


def channels(settings: Settings) -> Channels:
    """CAP-3: the channel counter ``sip.channels`` names (Redis: shared by the SIP nodes)."""
    from nuage.adapters.redis_channels import RedisChannels
    from nuage.policy import ChannelCounter

    config = settings.sip
    if config.channels == "memory":
        return ChannelCounter()
    name = node_id(settings) or f"{socket.gethostname()}-{secrets.token_hex(4)}"
    return RedisChannels(
        config.redis_url or settings.api.redis_url,
        node_id=name,
        prefix=config.redis_key_prefix,
        lease_s=config.channel_lease_s,
    )


def autodialer_thresholds(settings: Settings) -> AutoDialerThresholds:
    """SIP-4: the operator's thresholds (``[sip.autodialer]``)."""
    from nuage.policy import AutoDialerThresholds

    return AutoDialerThresholds(**settings.sip.autodialer.model_dump())


def security_settings(settings: Settings) -> SecuritySettings:
    """SIP-5: the security guard's thresholds (``[sip.security]``)."""
    from nuage.config import trusted_address
    from nuage.sip.security import KNOWN_SCANNERS, SecuritySettings

    config = settings.sip.security
    agents = KNOWN_SCANNERS if config.scanner_user_agents is None else tuple(config.scanner_user_agents)
    return SecuritySettings(
        max_auth_failures=config.max_auth_failures,
        failure_window_s=config.failure_window_s,
        ban_s=config.ban_s,
        scanner_user_agents=agents,
        rate_per_s=config.rate_per_s,
        burst=config.burst,
        trusted=tuple(trusted_address(address) for address in config.trusted),
    )
