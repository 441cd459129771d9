"""Speech or silence on a recorded leg: an energy detector with hangover, fed 20 ms frames.

A leg is speaking once ``ATTACK`` frames in a row are above ``LEVEL`` (RMS of 16-bit samples),
silent again once ``HANGOVER`` frames in a row are below it: short pauses between words do not
count as silence, a click does not count as speech. Only changes are reported.
"""

from __future__ import annotations

import numpy as np

from nuage.media.g711 import Pcm

LEVEL = 300.0  # about -40 dBFS: a quiet line's noise stays under it, a voice goes over
ATTACK = 3  # 60 ms above the level: speech
HANGOVER = 40  # 800 ms under the level: silence


class SpeechDetector:
    """One leg's speech state."""

    def __init__(self) -> None:
        self.speaking: bool | None = None
        self._run = 0  # frames in a row that disagree with the state

    def feed(self, frame: Pcm) -> bool | None:
        """Add one frame; the new state when it changed (the first frame sets it), else None."""
        loud = bool(len(frame)) and float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) > LEVEL
        if self.speaking is None:
            self.speaking = loud
            return loud
        if loud == self.speaking:
            self._run = 0
            return None
        self._run += 1
        if self._run >= (ATTACK if loud else HANGOVER):
            self.speaking, self._run = loud, 0
            return loud
        return None
