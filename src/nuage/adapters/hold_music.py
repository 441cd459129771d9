"""The SIP plane's HoldMusic port (issue #15), bridged to the accounts' music-on-hold settings.

Which sound file an account's held parties hear is read from the database in a worker thread and
kept for a few seconds (putting a call on hold never waits on the database more than once in a
while; a change is heard within ``cache_s``). The audio is the file converted at upload
(``services.directory.sound_files.sound_path``); a file missing on disk leaves the default.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import Engine

from nuage.services.directory.sound_files import hold_music_file
from nuage.sip.ports import HoldTrack
from nuage.storage.sql.unit_of_work import SqlUnitOfWork


class SqlHoldMusic:
    """HoldMusic over the unit of work; the audio in the data directory."""

    def __init__(self, engine: Engine, data_dir: Path, *, cache_s: float = 5.0) -> None:
        self._engine = engine
        self._data_dir = data_dir
        self._cache_s = cache_s
        self._tracks: dict[str, tuple[float, HoldTrack | None]] = {}

    async def track_of(self, account_id: str) -> HoldTrack | None:
        """Issue #15: the account's music on hold and its length (None: the default plays)."""
        known = self._tracks.get(account_id)
        if known is None or time.monotonic() - known[0] > self._cache_s:
            known = (time.monotonic(), await asyncio.to_thread(self._read, account_id))
            self._tracks[account_id] = known
        return known[1]

    def _read(self, account_id: str) -> HoldTrack | None:
        with SqlUnitOfWork(self._engine) as uow:
            found = hold_music_file(uow, self._data_dir, account_id)
        if found is None or not found[0].is_file():
            return None
        path, duration_ms = found
        return HoldTrack(path, max(duration_ms / 1000, 0.2))
