"""Speech or silence on a recorded leg: speech after 60 ms above the level, silence after 800 ms
below it; a click is not speech, a pause between words is not silence."""

from __future__ import annotations

import numpy as np

from nuage.media.player import FRAME, tone
from nuage.media.speech import ATTACK, HANGOVER, SpeechDetector

LOUD = tone(440, 20)
QUIET = np.zeros(FRAME, dtype=np.int16)


def test_speech_starts_after_the_attack_and_ends_after_the_hangover() -> None:
    detector = SpeechDetector()
    assert detector.feed(QUIET) is False  # the first frame sets the state
    assert [detector.feed(LOUD) for _ in range(ATTACK)] == [None] * (ATTACK - 1) + [True]
    pause = [detector.feed(QUIET) for _ in range(HANGOVER - 1)]
    assert pause == [None] * (HANGOVER - 1)  # a pause between words
    assert detector.feed(LOUD) is None  # still speaking
    changes = [detector.feed(QUIET) for _ in range(HANGOVER)]
    assert changes == [None] * (HANGOVER - 1) + [False]


def test_a_click_is_not_speech() -> None:
    detector = SpeechDetector()
    detector.feed(QUIET)
    assert [detector.feed(frame) for frame in (LOUD, QUIET, LOUD, QUIET)] == [None] * 4
    assert detector.speaking is False
