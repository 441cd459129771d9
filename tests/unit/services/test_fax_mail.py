"""The e-mail of a received fax (CFG-7) in its recipient's language (EN, FR, NL): the sender, the
time (Brussels), the pages, a failure's reason, the best-effort warning and the PDF attached."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.directory.fax import FaxStatus, ReceivedFax
from nuage.directory.model import VirtualFax
from nuage.services.fax_mail import fax_mail

RECEIVED = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)  # 14:05 in Brussels (summer time)
VIRTUAL = VirtualFax("vfx-1", "acc-1", "num-1", "fax@dupont.example", RECEIVED)


def _fax(
    status: FaxStatus = FaxStatus.RECEIVED,
    pages: int = 2,
    sender: str = "+32 2 555 01 00",
    caller: str = "alice",
) -> ReceivedFax:
    return ReceivedFax(
        id="fxr-1", fax_id="vfx-1", account_id="acc-1", received_at=RECEIVED, status=status, pages=pages,
        reason="The call dropped prematurely" if status is not FaxStatus.RECEIVED else "OK",
        sender=sender, caller=caller, size_bytes=10,
    )  # fmt: skip


@pytest.mark.rule("CFG-7")
@pytest.mark.parametrize(
    ("language", "subject", "said", "warning"),
    [
        ("en", "Fax from +32 2 555 01 00: 2 page(s)", "on 2026-07-01 at 14:05", "best effort"),
        ("fr", "Fax de +32 2 555 01 00 : 2 page(s)", "le 2026-07-01 à 14:05", "fourni au mieux"),
        ("nl", "Fax van +32 2 555 01 00: 2 pagina('s)", "op 2026-07-01 om 14:05", "naar best vermogen"),
    ],
)
def test_the_fax_mail_speaks_the_recipients_language_and_carries_the_pages(
    language: str, subject: str, said: str, warning: str
) -> None:
    mail = fax_mail(VIRTUAL, _fax(), "fax@nuage.example", b"%PDF-1.4 pages", language)
    assert (mail["Subject"], mail["To"], mail["Content-Language"]) == (
        subject,
        "fax@dupont.example",
        language,
    )
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert said in text
    assert warning in text
    assert "CFG-7" in text
    (attachment,) = list(mail.iter_attachments())
    assert (attachment.get_content_type(), attachment.get_filename()) == (
        "application/pdf",
        "fax-20260701-140500.pdf",
    )
    assert attachment.get_content() == b"%PDF-1.4 pages"


@pytest.mark.parametrize(
    ("language", "subject", "reason"),
    [
        (
            "fr",
            "Fax de un expéditeur inconnu en échec",
            "Le fax n'a pas abouti : The call dropped prematurely.",
        ),
        ("nl", "Mislukte fax van een onbekende afzender", "niet volledig aangekomen: The call dropped"),
        ("de", "Failed fax from an unknown sender", "did not complete: The call dropped prematurely."),
    ],
)
def test_a_failed_fax_from_an_unknown_sender_says_why_in_the_language_or_english(
    language: str, subject: str, reason: str
) -> None:
    fax = _fax(FaxStatus.FAILED, pages=0, sender="", caller="")
    mail = fax_mail(VIRTUAL, fax, "fax@nuage.example", None, language)
    assert mail["Subject"] == subject
    body = mail.get_body(("plain",))
    assert body is not None
    assert reason in body.get_content()
    assert not list(mail.iter_attachments())
