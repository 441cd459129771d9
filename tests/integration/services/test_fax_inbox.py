"""The fax inbox (CFG-7): a fax call's PDF kept in the data directory, its record listed, and the
PDF e-mailed to the virtual fax's address through a real SMTP server (aiosmtpd), on SQLite and
PostgreSQL."""

from __future__ import annotations

from email.message import Message
from pathlib import Path

import pytest

from media.fax_peer import make_document
from nuage.adapters.fax_inbox import SqlFaxInbox
from nuage.adapters.fax_pdf import tiff_to_pdf
from nuage.adapters.fax_receiver import FaxCall
from nuage.adapters.smtp import SmtpMailer
from nuage.bootstrap import Platform
from nuage.directory.fax import FaxStatus
from nuage.services import fax as faxes
from nuage.services import tenancy as t
from nuage.services.context import Context
from nuage.services.directory.media import add_virtual_fax
from nuage.services.directory.numbers import add_number
from waiting import wait_for_condition


@pytest.mark.rule("CFG-7")
async def test_a_partial_fax_is_kept_listed_and_emailed_with_its_pdf_and_reason(
    platform: Platform, smtp_server: tuple[int, list[Message]], tmp_path: Path
) -> None:
    with platform.uow() as uow:
        op = t.create_operator(uow, Context.operator("-", platform.clock), "Operator")
        ctx = Context.operator(op.id, platform.clock)
        account = t.create_customer(uow, ctx, "Cabinet Claes").id
        number = add_number(uow, ctx, account, "+3223000130")
        virtual = add_virtual_fax(uow, ctx, account, number.id, "fax@claes.example")
        uow.commit()
    make_document(tmp_path / "doc.tif", pages=1)
    pdf, pages = tiff_to_pdf(tmp_path / "doc.tif")
    port, mails = smtp_server
    inbox = SqlFaxInbox(
        platform.engine,
        tmp_path / "data",
        platform.clock,
        mailer=SmtpMailer("127.0.0.1", port),
        mail_from="fax@nuage.example",
    )
    call = FaxCall(
        virtual.id, account, "call-1", number.e164, FaxStatus.PARTIAL, pages,
        "The call dropped prematurely", "+32 2 555 01 00", "+3225550100", pdf,
    )  # fmt: skip
    stored = await inbox.keep(call)
    await wait_for_condition(lambda: bool(mails), timeout=10, what="the e-mail")
    await inbox.drain()

    (mail,) = mails
    assert mail["To"] == "fax@claes.example"
    assert "Incomplete fax from +32 2 555 01 00" in mail["Subject"]
    body, attachment = [part for part in mail.walk() if not part.is_multipart()]
    assert "The call dropped prematurely" in body.get_payload(decode=True).decode()
    assert "analogue line" in body.get_payload(decode=True).decode()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == pdf
    assert faxes.pdf_file(tmp_path / "data", stored).read_bytes() == pdf
    with platform.uow() as uow:
        (listed,) = faxes.list_received(uow, ctx, virtual.id)
    assert (listed.status, listed.pages, listed.size_bytes) == (FaxStatus.PARTIAL, 1, len(pdf))
    assert listed.emailed_at is not None
