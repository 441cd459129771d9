"""The SIP plane's CallRecordings port (CFG-9), bridged to the account's recording setting.

Which calls an account records (its ``RecordingRule``: on or off, the users and numbers chosen)
is read from the database in a worker thread and kept for a
few seconds (a call's setup never waits on the database more than once in a while); a finished
recording is listed and its bytes added to the account's volume in one unit of work. The files
live in ``<data_dir>/recordings/<account>/<id>.flac`` (``recording_file``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import Engine

from nuage.directory.model import CallRecording
from nuage.directory.recording import CallParties, RecordingRule, records_call
from nuage.services.directory.media import add_call_recording, recording_file
from nuage.services.directory.recording_choice import recording_rule
from nuage.shared.clock import Clock
from nuage.shared.ids import new_id
from nuage.shared.phone import DEFAULT_REGION
from nuage.sip.media import Recording
from nuage.storage.sql.unit_of_work import SqlUnitOfWork


class SqlCallRecordings:
    """CallRecordings over the unit of work; files in the data directory."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        clock: Clock,
        *,
        cache_s: float = 5.0,
        home_region: str = DEFAULT_REGION,
    ) -> None:
        self._engine = engine
        self._region = home_region
        self._data_dir = data_dir
        self._clock = clock
        self._cache_s = cache_s
        self._settings: dict[str, tuple[float, RecordingRule]] = {}

    async def rule(self, account_id: str) -> RecordingRule:
        """CFG-9: the account's choice (read again once it is a few seconds old)."""
        known = self._settings.get(account_id)
        if known is None or time.monotonic() - known[0] > self._cache_s:
            known = (time.monotonic(), await asyncio.to_thread(self._rule, account_id))
            self._settings[account_id] = known
        return known[1]

    async def target(self, account_id: str, call_id: str, parties: CallParties | None = None) -> Path | None:
        """CFG-9: a new file of the account's when it records this call, else None."""
        if not records_call(await self.rule(account_id), parties):
            return None
        path = recording_file(self._data_dir, account_id, new_id("rec"))
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        return path

    def _rule(self, account_id: str) -> RecordingRule:
        with SqlUnitOfWork(self._engine) as uow:
            return recording_rule(uow, account_id, region=self._region)

    async def stored(self, account_id: str, call_id: str, recording: Recording) -> None:
        """CFG-9: list the recording and count its bytes in the account's volume."""
        row = CallRecording(
            id=recording.path.stem,
            account_id=account_id,
            call_id=call_id[:256],
            size_bytes=recording.bytes_stored,
            duration_ms=round(recording.duration_s * 1000),
            created_at=self._clock.now(),
        )
        if not await asyncio.to_thread(self._store, row):  # the account ended meanwhile
            await asyncio.to_thread(recording.path.unlink, missing_ok=True)

    def _store(self, row: CallRecording) -> bool:
        with SqlUnitOfWork(self._engine) as uow:
            listed = add_call_recording(uow, row)
            uow.commit()
        return listed
