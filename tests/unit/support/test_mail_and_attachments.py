"""SUP-1 pure parts: an incoming e-mail read (sender, threading token, files, automatic replies) and
what may be attached to a ticket (size, type from the bytes, a safe file name)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from nuage.errors import InvalidInput
from nuage.support.attachments import MAX_ATTACHMENT_BYTES, check_size, safe_filename, sniff
from nuage.support.mail import parse, subject_for, token_in


def _raw(sender: str, subject: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "support@nuage.example", subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Bonjour,\nplus de tonalité.")
    message.add_attachment(b"%PDF-1.7 ...", maintype="application", subtype="pdf", filename="devis.pdf")
    return message.as_bytes()


@pytest.mark.rule("SUP-1")
def test_an_email_is_read_with_its_sender_token_and_files() -> None:
    mail = parse(_raw('"Alice" <Alice@Dupont.Example>', f"RE: {subject_for('tkt_abc123', 'Phones')}"))
    assert (mail.sender, mail.ticket_id, mail.automatic) == ("alice@dupont.example", "tkt_abc123", False)
    assert mail.text.startswith("Bonjour")
    assert [(f.filename, f.data[:5]) for f in mail.files] == [("devis.pdf", b"%PDF-")]
    assert token_in("no token [#] here") is None
    auto = parse(_raw("alice@dupont.example", "Out of office", Auto_Submitted="auto-replied"))
    assert auto.automatic  # never answered: no mail loop
    assert parse(_raw("mailer-daemon@example.org", "Undelivered")).automatic
    with pytest.raises(InvalidInput):
        parse(_raw("not an address", "x"))
    with pytest.raises(InvalidInput):
        parse(_raw("a@example.org, b@example.org", "two senders"))


@pytest.mark.rule("SUP-1")
def test_an_attachment_is_bounded_typed_by_its_bytes_and_safely_named() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "audio/wav"
    assert sniff("appel reçu à 10:02\n".encode()) == "text/plain"
    with pytest.raises(InvalidInput):
        sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00")  # an executable, whatever its name
    check_size(MAX_ATTACHMENT_BYTES)
    for size in (0, MAX_ATTACHMENT_BYTES + 1):
        with pytest.raises(InvalidInput):
            check_size(size)
    assert safe_filename("../../etc/passwd", "text/plain") == "passwd"
    assert safe_filename('C:\\Users\\a\\"scan" <1>.pdf', "application/pdf") == "_scan_ _1_.pdf"
    assert safe_filename(None, "image/png") == "attachment.png"
