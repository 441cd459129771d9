"""The e-mail of a received fax (CFG-7): its pages as a PDF attached, or why there is none.

Written in the recipient's language (EN, FR or NL: ``recipient_language`` in ``nuage.services.fax``
finds it), like the voicemail e-mail (``nuage.services.voicemail_mail``); the fax engine's reason
for a failure is quoted as the engine gave it.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from zoneinfo import ZoneInfo

from nuage.directory.fax import FaxStatus, ReceivedFax
from nuage.directory.model import VirtualFax
from nuage.directory.voicemail import language_of

BRUSSELS = ZoneInfo("Europe/Brussels")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        FaxStatus.RECEIVED.value: "Fax from {sender}: {pages} page(s)",
        FaxStatus.PARTIAL.value: "Incomplete fax from {sender}: {pages} page(s) received",
        FaxStatus.FAILED.value: "Failed fax from {sender}",
        "unknown": "an unknown sender",
        "intro": "A fax call from {sender} reached your virtual fax on {day} at {time}.",
        "pages": "Pages received: {pages}.",
        "incomplete": "The fax did not complete: {reason}.",
        "best_effort": (
            "Fax over the internet is best effort: if you rely on faxes, keep an analogue line (CFG-7)."
        ),
    },
    "fr": {
        FaxStatus.RECEIVED.value: "Fax de {sender} : {pages} page(s)",
        FaxStatus.PARTIAL.value: "Fax incomplet de {sender} : {pages} page(s) reçue(s)",
        FaxStatus.FAILED.value: "Fax de {sender} en échec",
        "unknown": "un expéditeur inconnu",
        "intro": "Un appel fax de {sender} a atteint votre fax virtuel le {day} à {time}.",
        "pages": "Pages reçues : {pages}.",
        "incomplete": "Le fax n'a pas abouti : {reason}.",
        "best_effort": (
            "Le fax par internet est fourni au mieux : si vous dépendez des fax, gardez une ligne "
            "analogique (CFG-7)."
        ),
    },
    "nl": {
        FaxStatus.RECEIVED.value: "Fax van {sender}: {pages} pagina('s)",
        FaxStatus.PARTIAL.value: "Onvolledige fax van {sender}: {pages} pagina('s) ontvangen",
        FaxStatus.FAILED.value: "Mislukte fax van {sender}",
        "unknown": "een onbekende afzender",
        "intro": "Een faxoproep van {sender} bereikte uw virtuele fax op {day} om {time}.",
        "pages": "Ontvangen pagina's: {pages}.",
        "incomplete": "De fax is niet volledig aangekomen: {reason}.",
        "best_effort": (
            "Faxen via het internet gebeurt naar best vermogen: wie op faxen rekent, houdt best een "
            "analoge lijn (CFG-7)."
        ),
    },
}


def fax_mail(
    virtual: VirtualFax, fax: ReceivedFax, sender: str, pdf: bytes | None, language: str | None = None
) -> EmailMessage:
    """The e-mail telling ``virtual.email`` about ``fax`` in ``language`` (EN, FR or NL; English
    otherwise), with its pages (``pdf``) attached."""
    if not virtual.email:
        raise ValueError("the virtual fax has no e-mail address")
    language = language_of(language)
    texts = TEXTS[language]
    who = fax.sender or fax.caller or texts["unknown"]
    local = fax.received_at.astimezone(BRUSSELS)
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = virtual.email
    mail["Subject"] = texts[fax.status.value].format(sender=who, pages=fax.pages)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "nuage.local")
    lines = [
        texts["intro"].format(sender=who, day=f"{local:%Y-%m-%d}", time=f"{local:%H:%M}"),
        texts["pages"].format(pages=fax.pages),
    ]
    if fax.status is not FaxStatus.RECEIVED:
        lines.append(texts["incomplete"].format(reason=fax.reason))
    lines.append(texts["best_effort"])
    mail.set_content("\n".join(lines) + "\n")
    if pdf:
        stamp = local.strftime("%Y%m%d-%H%M%S")
        mail.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"fax-{stamp}.pdf")
    mail["Content-Language"] = language  # after the content: setting it clears the Content-* headers
    return mail
