"""The media plane of a SIP node (issue #15): the engine ``[sip.media]`` names, wired to the server.

Owns the choice of engine (the embedded one, rtpengine over its NG protocol, or none: calls are
never anchored), when calls are anchored (``always_anchor``, ``anchor_nat``), and the engine's life
cycle: started before the SIP server takes calls, stopped after the last call's media is released.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from nuage.sip.b2bua.media import AnchorSettings, MediaServices
from nuage.sip.media import CallRecordings, HoldMusic, MediaPort

if TYPE_CHECKING:
    from nuage.adapters.rtpengine import RtpengineMediaEngine
    from nuage.media.engine import EmbeddedMediaEngine
    from nuage.media_settings import SipMediaSettings
    from nuage.sip.server import SipServer


HOLD_MUSIC_S = 30.0  # the default music on hold's length (played again when it ends)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


class MediaPlane:
    """The engine anchored calls use, started and stopped with the SIP server."""

    def __init__(self, engine: EmbeddedMediaEngine | RtpengineMediaEngine | None) -> None:
        self.engine = engine
        self.hold_music: Path | None = None
        self._open = False

    @property
    def port(self) -> MediaPort | None:
        """The media port the B2BUA anchors through (None: calls are never anchored)."""
        return self.engine

    @classmethod
    def of(cls, config: SipMediaSettings) -> MediaPlane:
        """The engine ``config`` names (not yet started)."""
        if config.engine == "none":
            return cls(None)
        if config.engine == "rtpengine":
            from nuage.adapters.rtpengine import RtpengineMediaEngine

            dtmf = _address(config.rtpengine_dtmf_log) if config.rtpengine_dtmf_log else None
            return cls(
                RtpengineMediaEngine(
                    _address(config.rtpengine_ng),
                    dtmf_listen=dtmf,
                    recording_dir=config.rtpengine_recording_dir,
                    timeout_s=config.timeout_s,
                )
            )
        from nuage.media.engine import EmbeddedMediaEngine

        return cls(
            EmbeddedMediaEngine(
                config.address,
                config.port_min,
                config.port_max,
                config.timeout_s,
                forwarder_processes=config.forwarder_processes,
            )
        )

    @classmethod
    def attach(
        cls,
        server: SipServer,
        config: SipMediaSettings,
        recordings: CallRecordings | None = None,
        hold_music: Path | None = None,
        accounts_music: HoldMusic | None = None,
    ) -> MediaPlane:
        """The engine ``config`` names, given to ``server`` with when to anchor, where calls are
        recorded (CFG-9) and the music a held party hears (the account's choice, else the default
        written at ``start``), before it starts."""
        plane = cls.of(config)
        plane.hold_music = hold_music
        if plane.engine is not None:
            anchor = AnchorSettings(always=config.always_anchor, nat=config.anchor_nat)
            server.media = MediaServices(
                plane.engine, anchor, recordings, hold_music, HOLD_MUSIC_S, accounts_music=accounts_music
            )
        return plane

    async def start(self) -> None:
        """Write the default music on hold, open the engine (rtpengine: its control and DTMF sockets;
        the embedded engine: its forwarder processes)."""
        from nuage.adapters.rtpengine import RtpengineMediaEngine
        from nuage.media.engine import EmbeddedMediaEngine
        from nuage.media.player import write_hold_music

        if self.hold_music is not None:
            await asyncio.to_thread(write_hold_music, self.hold_music, int(HOLD_MUSIC_S))

        if isinstance(self.engine, RtpengineMediaEngine) and not self._open:
            await self.engine.open()
        elif isinstance(self.engine, EmbeddedMediaEngine) and not self._open:
            await self.engine.start()
        self._open = True

    async def stop(self) -> None:
        """Release what is left and close the engine."""
        if self.engine is not None and self._open:
            self._open = False
            await self.engine.close()
