"""A number leading to a virtual fax (CFG-7) is answered by the fax application.

A real T.30 sender (spandsp over RTP G.711) sends a known 2-page document through the SIP server
and the embedded media engine; the received PDF's pages, decoded by poppler, match the sent ones
pixel for pixel. A caller hanging up after page 1 leaves a partial fax with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

import pytest

from media.app_phone import AppPhone
from media.conftest import FAX_NUMBER
from media.fax_peer import FaxSender, make_document, pdf_pages, same_pixels
from netports import free_port
from nuage.adapters.fax_receiver import FaxCall
from nuage.directory.fax import FaxStatus
from nuage.sip.memory import MemoryCdrSink
from nuage.sip.ports import CallOutcome, FaxDestination
from sip.harness import lab_server, make_lab_parts
from waiting import wait_for_condition

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pdfimages") is None, reason="poppler-utils missing"),
]
embedded_only = pytest.mark.parametrize("engine", ["embedded"], indirect=True)  # rtpengine: no raw audio


@pytest.mark.rule("CFG-7")
async def test_a_number_leading_to_no_fax_application_is_not_found(tmp_path: Path) -> None:
    credentials, dial_plan = make_lab_parts(free_port())
    dial_plan.numbers[FAX_NUMBER] = FaxDestination("fax-1", "acc-1")
    cdrs = MemoryCdrSink()
    server = lab_server(credentials, dial_plan, cdrs)
    await server.start()
    phone = await AppPhone.start()
    try:
        assert (await phone.dial(server.bound_address("UDP").port, FAX_NUMBER)).status == 404
        await server.cdr_writer.flush()
        await wait_for_condition(lambda: len(cdrs.records) == 1, timeout=30, what="the CDR")
        assert cdrs.records[0].outcome is CallOutcome.NOT_FOUND
    finally:
        phone.close()
        await server.stop(grace_s=0.5)


@embedded_only
@pytest.mark.rule("CFG-7")
async def test_a_two_page_fax_arrives_as_a_pdf_with_the_same_pages(
    fax_lab: tuple[int, list[FaxCall]], tmp_path: Path
) -> None:
    port, faxes = fax_lab
    sent = make_document(tmp_path / "sent.tif")
    phone = await AppPhone.start()
    sender = FaxSender(phone, tmp_path / "sent.tif", ident="+32 2 555 01 00")
    sending = None
    try:
        assert (await phone.dial(port, FAX_NUMBER)).status == 200
        sending = asyncio.get_running_loop().create_task(sender.run())
        await wait_for_condition(lambda: bool(faxes), timeout=100, what="the received fax")
        await wait_for_condition(lambda: sender.machine.finished, timeout=30, what="the sender's end")
        await phone.bye_from_server(port)  # the application hangs up once T.30 is over
    finally:
        if sending is not None:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        phone.close()
    (fax,) = faxes
    assert fax.status is FaxStatus.RECEIVED, fax.reason
    assert fax.pages == 2
    assert fax.reason == "OK"
    assert fax.sender == "+32 2 555 01 00"
    assert fax.dialled == FAX_NUMBER
    assert (fax.fax_id, fax.account_id) == ("fax-1", "acc-1")
    assert sender.machine.result is not None
    assert sender.machine.result.ok
    received = pdf_pages(fax.pdf, tmp_path)
    assert len(received) == 2
    for page, original in zip(received, sent, strict=True):
        assert same_pixels(page, original)
    sender.machine.close()


@embedded_only
async def test_a_sender_hanging_up_after_page_one_leaves_a_partial_fax_with_the_reason(
    fax_lab: tuple[int, list[FaxCall]], tmp_path: Path
) -> None:
    port, faxes = fax_lab
    sent = make_document(tmp_path / "sent.tif")
    phone = await AppPhone.start()
    sender = FaxSender(phone, tmp_path / "sent.tif", ident="+32 2 555 01 00")
    sending = None
    try:
        assert (await phone.dial(port, FAX_NUMBER)).status == 200
        sending = asyncio.get_running_loop().create_task(sender.run())
        await wait_for_condition(lambda: sender.machine.pages >= 1, timeout=100, what="page 1 confirmed")
        sending.cancel()
        await phone.hang_up(port)
        await wait_for_condition(lambda: bool(faxes), timeout=30, what="the partial fax")
    finally:
        if sending is not None:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        phone.close()
    (fax,) = faxes
    assert fax.status is FaxStatus.PARTIAL
    assert fax.pages == 1
    assert "dropped" in fax.reason.lower()
    (page,) = pdf_pages(fax.pdf, tmp_path)
    assert same_pixels(page, sent[0])
    sender.machine.close()
