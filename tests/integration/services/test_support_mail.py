"""Support by e-mail (SUP-1) over real SMTP on loopback: the support address's listener (as ``nuage
serve`` starts it) opens and threads tickets, keeps their files, refuses unknown senders by mail,
and every change of a ticket reaches its requester through the outbox and a real mail server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from netports import free_port
from nuage.bootstrap import Platform
from nuage.cli.support_mail import SupportMailRuntime, start_support_mail
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.support import tickets
from nuage.services.support.ports import Channel, MailState
from nuage.shared.clock import FrozenClock
from nuage.support.status import TicketStatus
from nuage.support_settings import SupportSettings
from waiting import wait_for_condition

SUPPORT = "support@nuage.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00\xff" * 32


@dataclass
class Desk:
    platform: Platform
    runtime: SupportMailRuntime
    outbox: list[EmailMessage]  # what the relay received
    operator_id: str

    async def send(
        self, sender: str, subject: str, text: str, *files: tuple[str, str, bytes], to: str = SUPPORT
    ) -> str:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        for name, media, data in files:
            main, sub = media.split("/")
            message.add_attachment(data, maintype=main, subtype=sub, filename=name)
        assert self.runtime.bound is not None
        host, port = self.runtime.bound
        _, answer = await aiosmtplib.send(message, hostname=host, port=port, timeout=30)
        return answer

    async def mails_to(self, address: str, count: int) -> list[EmailMessage]:
        def arrived() -> bool:
            return len([m for m in self.outbox if m["To"] == address]) >= count

        await wait_for_condition(arrived, what=f"{count} e-mail(s) to {address}")
        return [m for m in self.outbox if m["To"] == address]


@pytest.fixture
def relay() -> Iterator[tuple[int, list[EmailMessage]]]:
    """A real SMTP server standing for the operator's mail relay: it keeps what it receives."""
    received: list[EmailMessage] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


@pytest.fixture
async def desk(platform: Platform, relay: tuple[int, list[EmailMessage]]) -> AsyncIterator[Desk]:
    with platform.uow() as uow:
        demo = load_demo(uow, platform.clock, uow.access)  # with the portal logins: the desk's staff
    platform.settings.support = SupportSettings(
        address=SUPPORT,
        smtp_listen="127.0.0.1:0",
        smtp_relay=f"127.0.0.1:{relay[0]}",
        max_message_bytes=256 * 1024,
        mail_every_s=0.05,
    )
    runtime = await start_support_mail(platform)
    try:
        yield Desk(platform, runtime, relay[1], demo.operator_id)
    finally:
        await runtime.stop()


def _ticket_of(platform: Platform, ticket_id: str) -> tuple[object, list[object], list[object]]:
    with platform.uow() as uow:
        return (
            uow.support.tickets.get(ticket_id),
            uow.support.ticket_events.list(ticket_id=ticket_id, order_by=("seq",)),
            uow.support.attachments.list(ticket_id=ticket_id, order_by=("added_at", "id")),
        )


@pytest.mark.rule("SUP-1")
@pytest.mark.rule("SUP-2")
async def test_an_email_out_of_hours_opens_a_ticket_threads_replies_and_mails_every_change(
    desk: Desk, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 3, 14, 10, tzinfo=UTC))  # Saturday: the desk is closed
    answer = await desk.send(
        "Alice Martin <Alice@Dupont.example>",
        "Voicemail greeting to change",
        "Please record a new greeting.",
        ("screen.png", "image/png", PNG),
        ("invoice.pdf.exe", "application/pdf", EXE),  # declared a PDF; its bytes say otherwise
    )
    outcome = desk.runtime.handler.outcomes[-1]
    assert outcome.opened
    assert outcome.ticket_id
    assert outcome.ticket_id in answer
    assert outcome.refused_files
    assert "invoice.pdf.exe" in outcome.refused_files[0]
    ticket, events, files = _ticket_of(desk.platform, outcome.ticket_id)
    assert (ticket.channel, ticket.contact_email, ticket.on_duty) == (  # type: ignore[attr-defined]
        Channel.EMAIL,
        "alice@dupont.example",
        False,
    )
    assert [(f.filename, f.content_type) for f in files] == [("screen.png", "image/png")]  # type: ignore[attr-defined]

    (opened,) = await desk.mails_to("alice@dupont.example", 1)
    assert opened["Subject"].startswith(f"[#{outcome.ticket_id}]")
    assert opened["From"] == SUPPORT
    assert opened["Auto-Submitted"] == "auto-generated"
    assert "2026-03-16 08:30" in opened.get_content()  # French customer: told when, in French
    assert "partir du" in opened.get_content()

    # a reply by e-mail with the token goes on the same ticket, whatever else the subject says
    await desk.send("alice@dupont.example", f"RE: {opened['Subject']}", "Also the music on hold.")
    assert desk.runtime.handler.outcomes[-1].ticket_id == outcome.ticket_id
    assert not desk.runtime.handler.outcomes[-1].opened

    # the desk answers and resolves: each change is an e-mail to the requester
    ctx = Context.operator(desk.operator_id, clock)
    clock.set(datetime(2026, 3, 16, 8, tzinfo=UTC))
    with desk.platform.uow() as uow:
        tickets.reply(uow, ctx, outcome.ticket_id, "Done: new greeting recorded.")
    with desk.platform.uow() as uow:
        tickets.change_status(uow, ctx, outcome.ticket_id, TicketStatus.RESOLVED)
    mails = await desk.mails_to("alice@dupont.example", 3)
    assert any("Done: new greeting recorded." in m.get_content() for m in mails[1:])
    assert any("résolu" in m.get_content() for m in mails[1:])
    assert all(m["Subject"].startswith(f"[#{outcome.ticket_id}]") for m in mails)
    _, events, _ = _ticket_of(desk.platform, outcome.ticket_id)
    assert [e.channel for e in events][:1] == [Channel.EMAIL]  # type: ignore[attr-defined]
    assert "Also the music on hold." in [e.body for e in events]  # type: ignore[attr-defined]

    def all_sent() -> bool:  # the relay has them; the outbox records them sent just after
        with desk.platform.uow() as uow:
            return {m.state for m in uow.support.mails.list()} == {MailState.SENT}

    await wait_for_condition(all_sent, what="the outbox recording its e-mails sent")


@pytest.mark.rule("SUP-1")
@pytest.mark.rule("TEN-4")
async def test_unknown_senders_are_told_politely_and_other_tenants_tokens_open_their_own_ticket(
    desk: Desk, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 3, 10, 9, tzinfo=UTC))
    await desk.send("alice@dupont.example", "Phones", "No dial tone")
    dupont_ticket = desk.runtime.handler.outcomes[-1].ticket_id

    answer = await desk.send("stranger@example.org", "Hello", "Who are you?")
    assert "unknown sender" in answer
    assert desk.runtime.handler.outcomes[-1].ticket_id is None
    (refusal,) = await desk.mails_to("stranger@example.org", 1)
    assert "was not registered" in refusal.get_content()
    assert "SUP-1" in refusal.get_content()

    # Peeters' user quoting Dupont's token: a new ticket of Peeters, nothing written on Dupont's
    await desk.send("jan@peeters.example", f"[#{dupont_ticket}] me too", "Same here")
    peeters = desk.runtime.handler.outcomes[-1]
    assert peeters.opened
    assert peeters.ticket_id != dupont_ticket
    _, events, _ = _ticket_of(desk.platform, str(dupont_ticket))
    assert "Same here" not in [e.body for e in events]  # type: ignore[attr-defined]

    # the desk's staff answer by e-mail with the token: the requester hears it; without one, refused
    await desk.send("olivia@nuage.example", f"Re: [#{dupont_ticket}] Phones", "We are on it.")
    mails = await desk.mails_to("alice@dupont.example", 2)
    assert any("We are on it." in m.get_content() for m in mails)
    with pytest.raises(aiosmtplib.SMTPDataError) as no_token:
        await desk.send("olivia@nuage.example", "A new problem", "Opened by the desk?")
    assert no_token.value.code == 550

    # the listener is no relay, and a message over the bound is refused by the SMTP server itself
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await desk.send("alice@dupont.example", "Relay?", "x", to="someone@else.example")
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await desk.send("alice@dupont.example", "Big", "x", ("big.png", "image/png", PNG * 4000))
    assert refused.value.code == 552
