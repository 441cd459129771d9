"""Virtual fax on the wired SIP plane (CFG-7): alice's phone, a spandsp transmitter, calls the
number of Atelier Dupont's virtual fax; the SQL dial plan leads it to the fax application, the
2-page document is kept (record and PDF), listed, and e-mailed as PDF to the fax's address
(aiosmtpd), on SQLite and PostgreSQL; the same over T.38 once the call is switched by re-INVITE."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from email.message import Message
from pathlib import Path

import pytest

from media.app_phone import AppPhone
from media.fax_peer import FaxSender, T38Sender, image_port, make_document, reinvite, t38_sdp
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.fax import FaxStatus, ReceivedFax
from nuage.media_settings import SipFaxSettings, SipMediaSettings, SipVoicemailSettings
from nuage.services import fax as faxes
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.directory.media import add_virtual_fax
from nuage.services.directory.numbers import add_number
from nuage.shared.clock import SystemClock
from nuage.tenancy.model import PartyKind
from waiting import wait_for_condition

FAX_E164 = "+3223000177"


@pytest.fixture
async def wired_fax(
    platform: Platform,
    smtp_server: tuple[int, list[Message]],
) -> AsyncIterator[tuple[Platform, SipRuntime, str, Context]]:
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        account = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert account is not None
        ctx = Context.operator(account.id, platform.clock)
        number = add_number(uow, ctx, account.id, FAX_E164)
        virtual = add_virtual_fax(uow, ctx, account.id, number.id, "fax@dupont.example")
        uow.commit()
    low = free_port(span=200)
    platform.settings.sip.port = 0
    platform.settings.sip.media = SipMediaSettings(port_min=low, port_max=low + 199, timeout_s=60)
    platform.settings.sip.voicemail = SipVoicemailSettings(enabled=False)
    platform.settings.sip.fax = SipFaxSettings(
        smtp=f"127.0.0.1:{smtp_server[0]}", mail_from="fax@nuage.example", ident="+32 2 300 01 77"
    )
    platform.clock = SystemClock()
    runtime = SipRuntime(platform)
    await runtime.start()
    try:
        yield platform, runtime, virtual.id, ctx
    finally:
        await runtime.stop(grace_s=1)
        release(low, 200)


@pytest.mark.slow
@pytest.mark.rule("CFG-7")
async def test_a_fax_to_a_virtual_fax_number_is_kept_listed_and_emailed_as_pdf(
    wired_fax: tuple[Platform, SipRuntime, str, Context],
    smtp_server: tuple[int, list[Message]],
    tmp_path: Path,
) -> None:
    platform, runtime, fax_id, ctx = wired_fax
    port = runtime.server.bound_address("UDP").port
    make_document(tmp_path / "sent.tif")
    alice = await AppPhone.start("alice", "Alice-Demo-2026")
    sender = FaxSender(alice, tmp_path / "sent.tif", ident="+32 2 555 01 00")
    sending = None
    try:
        assert (await alice.dial(port, FAX_E164)).status == 200
        sending = asyncio.get_running_loop().create_task(sender.run())
        await wait_for_condition(lambda: sender.machine.finished, timeout=100, what="the fax sent")
        await alice.bye_from_server(port, timeout=30)
    finally:
        if sending is not None:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        alice.close()
    assert sender.machine.result is not None
    assert sender.machine.result.ok
    sender.machine.close()

    def listed() -> list[ReceivedFax]:
        with platform.uow() as uow:
            return faxes.list_received(uow, ctx, fax_id)

    await wait_for_condition(lambda: bool(listed()), timeout=30, what="the record")
    (fax,) = listed()
    assert (fax.status, fax.pages, fax.sender, fax.caller) == (
        FaxStatus.RECEIVED,
        2,
        "+32 2 555 01 00",
        "alice",
    )
    pdf = faxes.pdf_file(platform.settings.data_dir, fax).read_bytes()
    assert pdf.startswith(b"%PDF")
    _, mails = smtp_server
    await wait_for_condition(lambda: len(mails) == 1, timeout=30, what="the e-mail")
    (mail,) = mails
    assert mail["To"] == "fax@dupont.example"
    # written in the account's language (Atelier Dupont: French), as the voicemail e-mail is
    assert (mail["Content-Language"], mail["Subject"]) == ("fr", "Fax de +32 2 555 01 00 : 2 page(s)")
    (attachment,) = [part for part in mail.walk() if part.get_content_type() == "application/pdf"]
    assert attachment.get_payload(decode=True) == pdf


@pytest.mark.slow
@pytest.mark.rule("CFG-7")
async def test_a_fax_switched_to_t38_goes_the_same_way(
    wired_fax: tuple[Platform, SipRuntime, str, Context],
    smtp_server: tuple[int, list[Message]],
    tmp_path: Path,
) -> None:
    """Issue #16: the same call switched to T.38 by re-INVITE (a fax gateway): kept, listed, e-mailed."""
    platform, runtime, fax_id, ctx = wired_fax
    port = runtime.server.bound_address("UDP").port
    make_document(tmp_path / "sent.tif")
    alice = await AppPhone.start("alice", "Alice-Demo-2026")
    sender = T38Sender(tmp_path / "sent.tif", "+32 2 555 01 00")
    udptl = await sender.open()
    sending = None
    try:
        assert (await alice.dial(port, FAX_E164)).status == 200
        switched = await reinvite(alice, port, t38_sdp(udptl, "1", version=2))
        assert switched.status == 200, switched
        remote = ("127.0.0.1", image_port(switched.body))
        sending = asyncio.get_running_loop().create_task(sender.run(remote))
        await wait_for_condition(lambda: sender.terminal.finished, timeout=100, what="the fax sent")
        await alice.bye_from_server(port, timeout=30)
    finally:
        if sending is not None:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        alice.close()
        sender.close()
    assert sender.terminal.result is not None
    assert sender.terminal.result.ok

    def listed() -> list[ReceivedFax]:
        with platform.uow() as uow:
            return faxes.list_received(uow, ctx, fax_id)

    await wait_for_condition(lambda: bool(listed()), timeout=15, what="the record")
    (fax,) = listed()
    assert (fax.status, fax.pages, fax.sender) == (FaxStatus.RECEIVED, 2, "+32 2 555 01 00")
    pdf = faxes.pdf_file(platform.settings.data_dir, fax).read_bytes()
    assert pdf.startswith(b"%PDF")
    _, mails = smtp_server
    await wait_for_condition(lambda: len(mails) == 1, timeout=15, what="the e-mail")
    (attachment,) = [part for part in mails[0].walk() if part.get_content_type() == "application/pdf"]
    assert attachment.get_payload(decode=True) == pdf
