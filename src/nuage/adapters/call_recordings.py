"""The SIP plane's CallRecordings port (CFG-9), bridged to the account's recording setting.

Which calls an account records (its ``RecordingRule``: on or off, the users and numbers chosen)
is read from the database in a worker thread, once per account, then again in the background
every few seconds (issue #22: a call's setup waits on the database only for an account's first
calls, never when the value is renewed: at hundreds of calls a second, every call after an
expiry used to wait for its own read); a finished
recording is listed and its bytes added to the account's volume in one unit of work. The files
live in ``<data_dir>/recordings/<account>/<id>.flac`` (``recording_file``).
"""

from __future__ import annotations

import asyncio
import logging
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

log = logging.getLogger("nuage.adapters.call_recordings")


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
        self._reading: dict[str, asyncio.Future[RecordingRule]] = {}

    async def rule(self, account_id: str) -> RecordingRule:
        """CFG-9: the account's choice. Issue #22: once read, calls never wait for it again: one
        older than ``cache_s`` is still used while a single read in the background replaces it (a
        change applies within ``cache_s`` and one read); an account's first calls share one read."""
        known = self._settings.get(account_id)
        reading = self._reading.get(account_id)
        if known is not None:
            if reading is None and time.monotonic() - known[0] > self._cache_s:
                self._start_read(account_id)
            return known[1]
        return await asyncio.shield(reading or self._start_read(account_id))

    async def target(self, account_id: str, call_id: str, parties: CallParties | None = None) -> Path | None:
        """CFG-9: a new file of the account's when it records this call, else None."""
        if not records_call(await self.rule(account_id), parties):
            return None
        path = recording_file(self._data_dir, account_id, new_id("rec"))
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        return path

    def _start_read(self, account_id: str) -> asyncio.Future[RecordingRule]:
        reading = self._reading[account_id] = asyncio.ensure_future(self._read(account_id))
        reading.add_done_callback(lambda done: done.cancelled() or done.exception())  # logged in _read
        return reading

    async def _read(self, account_id: str) -> RecordingRule:
        try:
            rule = await asyncio.to_thread(self._rule, account_id)
        except Exception:
            log.exception("CFG-9: the recording choice of %s could not be read", account_id)
            raise
        finally:
            self._reading.pop(account_id, None)
        self._settings[account_id] = (time.monotonic(), rule)
        return rule

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
