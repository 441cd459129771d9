"""Voicemail to e-mail (issue #16): the caller, the time (Brussels) and the length in the box's
language, the message attached (FLAC) or not; the box's checks (PIN, language, retention)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.directory.voicemail import (
    VoicemailBox,
    VoicemailMessage,
    check_language,
    check_pin,
    check_retention,
)
from nuage.errors import InvalidInput
from nuage.services.voicemail_mail import message_mail

RECEIVED = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)  # 14:05 in Brussels (summer time)


def _box(language: str, attach: bool = True) -> VoicemailBox:
    return VoicemailBox(
        "vmb-1", "acc-1", "Bob Martin", "212", RECEIVED, language=language, email="bob@dupont.example",
        attach_audio=attach,
    )  # fmt: skip


def _message(name: str = "Alice Dupont", caller: str = "211") -> VoicemailMessage:
    return VoicemailMessage("vmm-1", "vmb-1", "acc-1", caller, RECEIVED, 12_400, 9000, caller_name=name)


@pytest.mark.parametrize(
    ("language", "subject", "said"),
    [
        ("en", "New voicemail from Alice Dupont (211)", "on 2026-07-01 at 14:05 (12 seconds)"),
        ("fr", "Nouveau message vocal de Alice Dupont (211)", "le 2026-07-01 à 14:05 (12 secondes)"),
        ("nl", "Nieuw voicemailbericht van Alice Dupont (211)", "op 2026-07-01 om 14:05"),
    ],
)
def test_the_mail_speaks_the_boxs_language_and_carries_the_message(
    language: str, subject: str, said: str
) -> None:
    mail = message_mail(_box(language), _message(), "voicemail@nuage.example", b"fLaC-audio")
    assert mail["Subject"] == subject
    assert mail["To"] == "bob@dupont.example"
    body = mail.get_body(("plain",))
    assert body is not None
    assert said in body.get_content()
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "audio/flac"
    assert attachment.get_content() == b"fLaC-audio"
    assert attachment.get_filename() == "voicemail-20260701-140500.flac"


def test_without_the_audio_the_mail_says_where_to_listen_and_names_an_unknown_caller() -> None:
    mail = message_mail(_box("en", attach=False), _message(name="", caller=""), "vm@nuage.example", None)
    assert mail["Subject"] == "New voicemail from An unknown caller"
    assert not list(mail.iter_attachments())
    body = mail.get_body(("plain",))
    assert body is not None
    assert "Listen to it from your phone" in body.get_content()


@pytest.mark.parametrize("pin", ["123", "12345678901", "1111", "1234", "9876", "12a4"])
def test_weak_or_malformed_pins_are_refused(pin: str) -> None:
    with pytest.raises(InvalidInput):
        check_pin(pin)


def test_a_good_pin_a_language_and_a_retention_pass() -> None:
    check_pin("5829")
    assert check_language("FR") == "fr"
    assert check_retention(30) == 30
    with pytest.raises(InvalidInput):
        check_language("de")
    with pytest.raises(InvalidInput):
        check_retention(0)
