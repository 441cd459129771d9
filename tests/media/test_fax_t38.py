"""A virtual fax (CFG-7) receives over T.38 too (issue #16), from a real T.38 sender.

spandsp's T.38 terminal sends a known 2-page document over UDPTL after its call switched to T.38
by re-INVITE (what a fax gateway does once it hears the fax tones), or from an INVITE offering only
T.38; the received PDF's pages, decoded by poppler, match the sent ones pixel for pixel. With every
fifth datagram lost, the redundancy of the next ones recovers them. An offer the application cannot
take (T.38 over TCP, local TCF) is refused with 488 and a Warning and the call goes on; a sender
hanging up after page 1 leaves a partial fax with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path

import pytest
from PIL import Image

from media.app_phone import AppPhone
from media.conftest import FAX_NUMBER
from media.fax_peer import T38Sender, image_port, make_document, pdf_pages, reinvite, same_pixels, t38_sdp
from media.peers import media_port, sdp
from netports import free_port
from nuage.adapters.fax_receiver import FaxCall
from nuage.directory.fax import FaxStatus
from nuage.sip.message.sdp import SessionDescription
from waiting import wait_for_condition

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pdfimages") is None, reason="poppler-utils missing"),
    pytest.mark.parametrize("engine", ["embedded"], indirect=True),  # T.38's UDPTL: the embedded engine
]
SENDER = "+32 2 555 01 00"


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _send_over_t38(
    port: int, faxes: list[FaxCall], document: Path, *, drop_every: int = 0, t38_only: bool = False
) -> T38Sender:
    """Call the fax number, switch to T.38 (or offer only T.38), send ``document``; the sender."""
    phone = await AppPhone.start()
    sender = T38Sender(document, SENDER, drop_every=drop_every)
    udptl = await sender.open()
    sending = None
    try:
        if t38_only:
            answered = await phone.dial(port, FAX_NUMBER, sdp_offer=t38_sdp(udptl, "1"))
        else:
            assert (await phone.dial(port, FAX_NUMBER)).status == 200
            answered = await reinvite(phone, port, t38_sdp(udptl, "1", version=2))
            assert phone.ok is not None
            first, then = (SessionDescription.parse(r.body).origin for r in (phone.ok, answered))
            assert (then.session_id, then.session_version) == (first.session_id, first.session_version + 1)
        assert answered.status == 200, answered
        assert b"udptl t38" in answered.body
        assert b"T38FaxRateManagement:transferredTCF" in answered.body
        remote = ("127.0.0.1", image_port(answered.body))
        sending = asyncio.get_running_loop().create_task(sender.run(remote))
        await wait_for_condition(lambda: bool(faxes), timeout=100, what="the received fax")
        await wait_for_condition(lambda: sender.terminal.finished, timeout=10, what="the sender's end")
        await phone.bye_from_server(port)  # the application hangs up once T.30 is over
    finally:
        await _stop(sending)
        phone.close()
        sender.endpoint.close()
    return sender


def _same_two_pages(fax: FaxCall, sender: T38Sender, sent: list[Image.Image], tmp_path: Path) -> None:
    assert fax.status is FaxStatus.RECEIVED, fax.reason
    assert (fax.pages, fax.reason, fax.sender, fax.t38) == (2, "OK", SENDER, True)
    assert (fax.fax_id, fax.account_id, fax.dialled) == ("fax-1", "acc-1", FAX_NUMBER)
    assert sender.terminal.result is not None
    assert sender.terminal.result.ok
    received = pdf_pages(fax.pdf, tmp_path)
    assert len(received) == 2
    for page, original in zip(received, sent, strict=True):
        assert same_pixels(page, original)


@pytest.mark.rule("CFG-7")
async def test_a_call_switched_to_t38_by_reinvite_delivers_the_same_pages(
    fax_lab: tuple[int, list[FaxCall]], tmp_path: Path
) -> None:
    port, faxes = fax_lab
    sent = make_document(tmp_path / "sent.tif")
    sender = await _send_over_t38(port, faxes, tmp_path / "sent.tif")
    (fax,) = faxes
    _same_two_pages(fax, sender, sent, tmp_path)
    sender.close()


@pytest.mark.rule("CFG-7")
async def test_an_invite_offering_only_t38_is_answered_with_udptl(
    fax_lab: tuple[int, list[FaxCall]], tmp_path: Path
) -> None:
    port, faxes = fax_lab
    sent = make_document(tmp_path / "sent.tif")
    sender = await _send_over_t38(port, faxes, tmp_path / "sent.tif", t38_only=True)
    (fax,) = faxes
    _same_two_pages(fax, sender, sent, tmp_path)
    sender.close()


async def test_lost_udptl_datagrams_are_recovered_from_the_redundancy(
    fax_lab: tuple[int, list[FaxCall]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port, faxes = fax_lab
    sent = make_document(tmp_path / "sent.tif")
    with caplog.at_level(logging.INFO, logger="nuage.adapters.fax"):
        sender = await _send_over_t38(port, faxes, tmp_path / "sent.tif", drop_every=5)
    assert sender.endpoint.dropped >= 20  # a fifth of what it sent never arrived
    (udptl,) = [r for r in caplog.records if r.getMessage().startswith("T.38 over UDPTL")]
    _received, recovered, lost = udptl.args  # type: ignore[misc]
    assert recovered >= sender.endpoint.dropped // 2  # copies aside, each loss was rebuilt...
    assert lost == 0  # ...and none was missed
    (fax,) = faxes
    _same_two_pages(fax, sender, sent, tmp_path)  # non-ECM T.30: a lost image packet would show
    sender.close()


@pytest.mark.parametrize(
    ("protocol", "management", "why"),
    [("TCP/TPKT/T38", "localTCF", "UDPTL only"), ("udptl", "localTCF", "transferredTCF")],
)
async def test_an_offer_it_cannot_take_is_refused_with_a_warning_and_the_call_goes_on(
    fax_lab: tuple[int, list[FaxCall]], protocol: str, management: str, why: str
) -> None:
    port, faxes = fax_lab
    phone = await AppPhone.start()
    try:
        assert (await phone.dial(port, FAX_NUMBER)).status == 200
        refused = await reinvite(
            phone, port, t38_sdp(free_port(), "1", 2, protocol=protocol, management=management)
        )
        assert refused.status == 488
        warning = refused.headers.get("warning") or ""
        assert warning.startswith("305 "), warning
        assert why in warning, warning
        await phone.hang_up(port, cseq=4)  # the call was still up: the caller hangs up
        await wait_for_condition(lambda: bool(faxes), timeout=20, what="the failed fax")
    finally:
        phone.close()
    (fax,) = faxes
    assert (fax.status, fax.pages, fax.t38) == (FaxStatus.FAILED, 0, False)
    assert "dropped" in fax.reason.lower()


async def test_an_offer_back_to_audio_after_t38_is_answered_by_the_engine(
    fax_lab: tuple[int, list[FaxCall]],
) -> None:
    port, faxes = fax_lab
    phone = await AppPhone.start()
    try:
        assert (await phone.dial(port, FAX_NUMBER)).status == 200
        assert (await reinvite(phone, port, t38_sdp(free_port(), "1", version=2))).status == 200
        back = await reinvite(phone, port, sdp(phone.rtp.port, "1").replace(b" 1 1 IN", b" 1 3 IN"), cseq=4)
        assert back.status == 200, back
        assert media_port(back.body) > 0  # the engine's audio port again
        assert b"m=image" not in back.body
        await phone.hang_up(port, cseq=5)
        await wait_for_condition(lambda: bool(faxes), timeout=20, what="the failed fax")
    finally:
        phone.close()
    (fax,) = faxes
    assert (fax.status, fax.pages, fax.t38) == (FaxStatus.FAILED, 0, True)  # no fax came over T.38
    assert "dropped" in fax.reason.lower()


async def test_an_invite_offering_only_t38_over_tcp_is_refused_with_a_warning(
    fax_lab: tuple[int, list[FaxCall]],
) -> None:
    port, faxes = fax_lab
    phone = await AppPhone.start()
    try:
        offer = t38_sdp(free_port(), "1", protocol="TCP/TPKT/T38")
        refused = await phone.dial(port, FAX_NUMBER, sdp_offer=offer)
    finally:
        phone.close()
    assert refused.status == 488
    warning = refused.headers.get("warning") or ""
    assert warning.startswith("305 "), warning
    assert "UDPTL only" in warning
    assert not faxes  # no call, no fax


async def test_a_t38_sender_hanging_up_after_page_one_leaves_a_partial_fax_with_the_reason(
    fax_lab: tuple[int, list[FaxCall]], tmp_path: Path
) -> None:
    port, faxes = fax_lab
    sent = make_document(tmp_path / "sent.tif")
    phone = await AppPhone.start()
    sender = T38Sender(tmp_path / "sent.tif", SENDER)
    udptl = await sender.open()
    sending = None
    try:
        assert (await phone.dial(port, FAX_NUMBER)).status == 200
        answered = await reinvite(phone, port, t38_sdp(udptl, "1", version=2))
        assert answered.status == 200, answered
        sending = asyncio.get_running_loop().create_task(sender.run(("127.0.0.1", image_port(answered.body))))
        await wait_for_condition(lambda: sender.terminal.pages >= 1, timeout=100, what="page 1 confirmed")
        await _stop(sending)
        await phone.hang_up(port, cseq=4)
        await wait_for_condition(lambda: bool(faxes), timeout=20, what="the partial fax")
    finally:
        await _stop(sending)
        phone.close()
        sender.close()
    (fax,) = faxes
    assert (fax.status, fax.pages, fax.t38) == (FaxStatus.PARTIAL, 1, True)
    assert "dropped" in fax.reason.lower()
    (page,) = pdf_pages(fax.pdf, tmp_path)
    assert same_pixels(page, sent[0])
