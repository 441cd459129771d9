"""Screen sharing in a meeting (MTG-1): a browser shares its screen (getDisplayMedia, published as a
second video feed of its own) and the other browser receives that feed's video with frames.

Headless Chromium answers getDisplayMedia with its fake capture (the media flags of the conftest):
no prompt, a generated picture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from webrtc.conftest import LiveMeeting
from webrtc.test_meeting_browsers import HEARD, heard, join, order
from webrtc.test_meeting_rooms_api import pay_invoice

SCREEN_FRAMES = """async (name) => {
  const video = Array.from(document.querySelectorAll('#remote-feeds video'))
    .find((element) => element.title === name);
  if (!video || video.videoWidth === 0) return 0;
  let frames = 0;
  await new Promise((resolve) => {
    const count = () => {
      frames += 1;
      if (frames >= 5) { resolve(); } else { video.requestVideoFrameCallback(count); }
    };
    video.requestVideoFrameCallback(count);
    setTimeout(resolve, 5000);
  });
  return frames;
}"""


@pytest.fixture
def contexts(media_browser: Browser, meeting_live: LiveMeeting) -> Iterator[list[BrowserContext]]:
    made = [media_browser.new_context(base_url=meeting_live.base, locale="en-GB") for _ in range(2)]
    for context in made:
        context.set_default_timeout(20_000)
    yield made
    for context in made:
        context.close()


def video_tracks(page: Page) -> int:
    return int(
        page.evaluate(
            "() => Array.from(window.nuageMeeting.remote.values())"
            ".reduce((n, s) => n + s.getVideoTracks().length, 0)"
        )
    )


@pytest.mark.rule("MTG-1")
def test_a_shared_screen_reaches_the_other_browser_as_a_second_video_feed(
    meeting_live: LiveMeeting, contexts: list[BrowserContext]
) -> None:
    room = order(meeting_live, "Screen sharing")
    pay_invoice(meeting_live.platform, room.invoice_number)
    alice, bob = (context.new_page() for context in contexts)
    join(alice, room, "Alice")
    join(bob, room, "Bob")
    assert heard(bob) > HEARD
    assert video_tracks(bob) == 1  # Alice's camera

    alice.wait_for_selector("#share-screen:not([hidden])")
    alice.click("#share-screen")
    alice.wait_for_function(
        "() => document.getElementById('share-screen').getAttribute('aria-pressed') === 'true'"
    )
    bob.wait_for_function(
        "() => Array.from(document.querySelectorAll('#remote-feeds video'))"
        ".some((v) => v.title === 'Alice (screen)' && v.videoWidth > 0)",
        timeout=30_000,
    )
    assert video_tracks(bob) == 2  # the camera and the screen
    assert bob.evaluate(SCREEN_FRAMES, "Alice (screen)") >= 5  # the screen's frames keep arriving
    assert video_tracks(alice) == 1  # Alice does not receive her own screen back

    alice.click("#share-screen")  # stop sharing: the feed leaves the others' pages
    bob.wait_for_function(
        "() => !Array.from(document.querySelectorAll('#remote-feeds video'))"
        ".some((v) => v.title === 'Alice (screen)')"
    )
    assert video_tracks(bob) == 1
