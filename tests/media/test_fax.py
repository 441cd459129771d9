"""A fax over G.711: spandsp transmitting a known 2-page document to spandsp receiving, frame by frame.

The two fax machines are wired back to back through the G.711 codec (A-law, as on the wire), in
20 ms frames; the received TIFF becomes a PDF whose pages, decoded again (poppler's ``pdfimages``),
match the sent pages pixel for pixel. Time is the number of frames exchanged, not the clock.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media.fax_peer import make_document, same_pixels
from nuage.adapters.fax_pdf import tiff_to_pdf
from nuage.adapters.spandsp import T30_ERR_CALLDROPPED, FaxMachine, FaxUnavailable
from nuage.media import g711

try:
    FaxMachine(send=Path("/nonexistent.tif")).close()
except FaxUnavailable:  # pragma: no cover - scripts/install --test installs it
    pytest.skip("libspandsp2 is not installed", allow_module_level=True)

PCMA = 8
MAX_FRAMES = 50 * 180  # three minutes of call: a 2-page fax takes about 22 s


def through_g711(pcm: bytes) -> bytes:
    """What arrives after A-law encoding and decoding, as a G.711 call carries it."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
    return g711.decode(PCMA, g711.encode(PCMA, samples)).astype("<i2").tobytes()


def fax_call(sender: FaxMachine, receiver: FaxMachine, until: Callable[[], bool]) -> int:
    """Exchange 20 ms frames both ways until ``until()``; the number of frames exchanged."""
    for frame in range(MAX_FRAMES):
        if until():
            return frame
        to_receiver = through_g711(sender.transmit_audio())
        to_sender = through_g711(receiver.transmit_audio())
        receiver.receive_audio(to_receiver)
        sender.receive_audio(to_sender)
    raise AssertionError("the fax did not finish in three minutes of audio")


def pdf_images(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    """The page images embedded in a PDF, decoded by poppler (an independent reader)."""
    source = tmp_path / "check.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdfimages", "-png", str(source), str(tmp_path / "img")], check=True)
    return [Image.open(png).convert("1") for png in sorted(tmp_path.glob("img-*.png"))]


needs_poppler = pytest.mark.skipif(shutil.which("pdfimages") is None, reason="poppler-utils missing")


@needs_poppler
def test_two_pages_over_g711_arrive_identical_in_the_pdf(tmp_path: Path) -> None:
    sent = make_document(tmp_path / "sent.tif")
    sender = FaxMachine(send=tmp_path / "sent.tif", ident="+32 2 555 01 00")
    receiver = FaxMachine(receive_to=tmp_path / "received.tif", ident="NUAGE")
    frames = fax_call(sender, receiver, lambda: receiver.finished and sender.finished)
    assert receiver.result is not None
    assert sender.result is not None
    assert receiver.result.ok, receiver.result
    assert sender.result.ok, sender.result
    assert receiver.result.reason == "OK"
    assert receiver.result.remote_ident == "+32 2 555 01 00"
    assert frames < 50 * 60
    receiver.close()
    sender.close()
    assert receiver.pages == 2
    assert sender.pages == 2

    pdf, pages = tiff_to_pdf(tmp_path / "received.tif")
    assert pages == 2
    assert pdf.startswith(b"%PDF")
    received = pdf_images(pdf, tmp_path)
    assert len(received) == 2
    for page, original in zip(received, sent, strict=True):
        assert same_pixels(page, original)
    assert not same_pixels(received[0], sent[1])  # the comparison tells pages apart


@needs_poppler
def test_a_call_dropped_after_the_first_page_keeps_it_and_says_why(tmp_path: Path) -> None:
    sent = make_document(tmp_path / "sent.tif")
    sender = FaxMachine(send=tmp_path / "sent.tif")
    receiver = FaxMachine(receive_to=tmp_path / "received.tif")
    fax_call(sender, receiver, lambda: receiver.pages >= 1)
    result = receiver.hang_up()  # the sender's side hung up in the middle of page 2
    sender.close()
    assert not result.ok
    assert result.code == T30_ERR_CALLDROPPED
    assert "dropped" in result.reason.lower()
    assert result.pages == 1

    pdf, pages = tiff_to_pdf(tmp_path / "received.tif")
    assert pages == 1
    (page,) = pdf_images(pdf, tmp_path)
    assert same_pixels(page, sent[0])


def test_a_caller_who_never_sends_a_fax_gives_a_failed_fax_and_no_page(tmp_path: Path) -> None:
    receiver = FaxMachine(receive_to=tmp_path / "received.tif")
    silence = bytes(320)
    for _ in range(50 * 5):  # five seconds of a caller saying nothing
        receiver.transmit_audio()
        receiver.receive_audio(silence)
    assert not receiver.finished
    result = receiver.hang_up()
    assert not result.ok
    assert result.pages == 0
    assert result.reason
    assert tiff_to_pdf(tmp_path / "received.tif") == (b"", 0)


def test_the_receiver_answers_with_fax_tones(tmp_path: Path) -> None:
    """A receiver is heard: CED (2100 Hz) then V.21 — not silence — from the first second."""
    receiver = FaxMachine(receive_to=tmp_path / "received.tif")
    audio = np.frombuffer(b"".join(receiver.transmit_audio() for _ in range(50 * 2)), dtype="<i2")
    receiver.close()
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64)))
    peak_hz = float(np.argmax(spectrum)) * 8000 / len(audio)
    assert abs(peak_hz - 2100) < 20


def test_a_machine_either_sends_or_receives(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="either receives"):
        FaxMachine()
    with pytest.raises(ValueError, match="either receives"):
        FaxMachine(receive_to=tmp_path / "a.tif", send=tmp_path / "b.tif")
