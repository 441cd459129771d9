"""``nuage serve`` runs the support address's SMTP listener (``[support] smtp_listen``) and sends the
desk's e-mails through ``smtp_relay`` (SUP-1): a real process, real SMTP both ways on loopback."""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from netports import free_port
from waiting import wait_until

NUAGE = str(Path(sys.executable).parent / "nuage")


@pytest.fixture
def relay() -> Iterator[tuple[int, list[EmailMessage]]]:
    received: list[EmailMessage] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[attr-defined, arg-type]
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


@pytest.mark.rule("SUP-1")
def test_serve_takes_mail_for_the_support_address_and_answers_through_the_relay(
    tmp_path: Path, demo_template: Path, relay: tuple[int, list[EmailMessage]]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(demo_template, data / "nuage.db")
    http, smtp = free_port(), free_port()
    env = {
        **os.environ,
        "NUAGE_SECRET_KEY": "test-signing-key-0123456789",
        "NUAGE_DATA_DIR": str(data),
        "NUAGE_SUPPORT__SMTP_LISTEN": f"127.0.0.1:{smtp}",
        "NUAGE_SUPPORT__SMTP_RELAY": f"127.0.0.1:{relay[0]}",
        "NUAGE_SUPPORT__MAIL_EVERY_S": "0.2",
        "NUAGE_JANUS__EMBEDDED": "false",  # no Janus to start and stop: the mail is what is checked
    }
    process = subprocess.Popen(
        [NUAGE, "serve", "--no-sip", "--http", f"127.0.0.1:{http}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def up(probe: httpx.Client) -> bool:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            return probe.get(f"http://127.0.0.1:{http}/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        # one client for every probe: ``httpx.get`` makes a client (and its TLS context) each time
        with httpx.Client(timeout=1) as probe:
            wait_until(lambda: up(probe), timeout=60, interval=0.1, what="nuage serve")
        message = EmailMessage()
        message["From"], message["To"] = "jan@peeters.example", "support@nuage.example"
        message["Subject"] = "Geen kiestoon"
        message.set_content("De telefoons zijn stil.")
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as client:
            client.send_message(message)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("jan@peeters.example", ["someone@else.example"], b"Subject: x\r\n\r\nx")
        wait_until(lambda: len(relay[1]) >= 1, what="the desk's answer through the relay")
        (answer,) = relay[1]
        assert answer["To"] == "jan@peeters.example"
        assert answer["Subject"].startswith("[#tkt_")
        assert answer["Subject"].endswith("Geen kiestoon")
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=20)
    assert f"Support e-mail: smtp://127.0.0.1:{smtp} accepts mail to support@nuage.example" in out.decode()
