"""CFG-9 in ``nuage serve``: the daily pass that deletes the call recordings no longer held.

Run right after the day's contract terminations (``nuage.cli.contracts``): a recording older than
its account's retention period goes, and so does every recording of a terminated account (a
recording never outlives its account). Rows first (their bytes leave the recording volume the
monthly count bills), then, once committed, the files.
"""

from __future__ import annotations

import logging

from nuage.bootstrap import Platform
from nuage.services.directory.media import recording_file
from nuage.services.directory.recording_choice import purge_recordings

log = logging.getLogger(__name__)


def purge_recordings_pass(platform: Platform) -> int:
    """CFG-9: delete the recordings no longer held (rows, then files); how many. Blocking: run it in
    a worker thread."""
    with platform.uow() as uow:
        gone = purge_recordings(uow, platform.clock.now())
        uow.commit()
    for recording in gone:
        recording_file(platform.settings.data_dir, recording.account_id, recording.id).unlink(missing_ok=True)
    if gone:
        log.info("recordings: %d deleted (CFG-9 retention or terminated accounts)", len(gone))
    return len(gone)
