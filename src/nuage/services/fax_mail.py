"""The e-mail of a received fax (CFG-7): its pages as a PDF attached, or why there is none."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from zoneinfo import ZoneInfo

from nuage.directory.fax import FaxStatus, ReceivedFax
from nuage.directory.model import VirtualFax

BRUSSELS = ZoneInfo("Europe/Brussels")
_SUBJECT = {
    FaxStatus.RECEIVED: "Fax from {sender}: {pages} page(s)",
    FaxStatus.PARTIAL: "Incomplete fax from {sender}: {pages} page(s) received",
    FaxStatus.FAILED: "Failed fax from {sender}",
}


def fax_mail(virtual: VirtualFax, fax: ReceivedFax, sender: str, pdf: bytes | None) -> EmailMessage:
    """The e-mail telling ``virtual.email`` about ``fax``, with its pages (``pdf``) attached."""
    if not virtual.email:
        raise ValueError("the virtual fax has no e-mail address")
    who = fax.sender or fax.caller or "an unknown sender"
    local = fax.received_at.astimezone(BRUSSELS)
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = virtual.email
    mail["Subject"] = _SUBJECT[fax.status].format(sender=who, pages=fax.pages)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "nuage.local")
    lines = [
        f"A fax call from {who} reached your virtual fax on {local:%Y-%m-%d} at {local:%H:%M}.",
        f"Pages received: {fax.pages}.",
    ]
    if fax.status is not FaxStatus.RECEIVED:
        lines.append(f"The fax did not complete: {fax.reason}.")
    lines.append("Fax over the internet is best effort: if you rely on faxes, keep an analogue line (CFG-7).")
    mail.set_content("\n".join(lines) + "\n")
    if pdf:
        stamp = local.strftime("%Y%m%d-%H%M%S")
        mail.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"fax-{stamp}.pdf")
    return mail
