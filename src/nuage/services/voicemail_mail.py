"""Voicemail to e-mail (issue #16): the e-mail a new message sends to its box's address.

The message's audio is attached (FLAC, compressed) when the box says so; the body names the
caller, the time (Brussels time) and the length, in the box's language (EN, FR or NL). Sent
through the ``Mailer`` port (``nuage.adapters.smtp``) by the voicemail adapter.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from zoneinfo import ZoneInfo

from nuage.directory.voicemail import VoicemailBox, VoicemailMessage, language_of

BRUSSELS = ZoneInfo("Europe/Brussels")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "New voicemail from {caller}",
        "body": (
            "Hello,\n\n{caller} left you a voicemail message on {day} at {time} ({seconds} seconds) "
            "in the box {box}.\n{attached}\n\nNuage voicemail\n"
        ),
        "attached": "The message is attached.",
        "not_attached": "Listen to it from your phone or the portal.",
        "unknown": "An unknown caller",
    },
    "fr": {
        "subject": "Nouveau message vocal de {caller}",
        "body": (
            "Bonjour,\n\n{caller} vous a laissé un message vocal le {day} à {time} ({seconds} secondes) "
            "dans la boîte {box}.\n{attached}\n\nMessagerie vocale Nuage\n"
        ),
        "attached": "Le message est joint.",
        "not_attached": "Écoutez-le depuis votre téléphone ou le portail.",
        "unknown": "Un correspondant inconnu",
    },
    "nl": {
        "subject": "Nieuw voicemailbericht van {caller}",
        "body": (
            "Hallo,\n\n{caller} heeft op {day} om {time} een voicemailbericht ingesproken "
            "({seconds} seconden) in de box {box}.\n{attached}\n\nNuage voicemail\n"
        ),
        "attached": "Het bericht zit in de bijlage.",
        "not_attached": "Beluister het op uw toestel of in het portaal.",
        "unknown": "Een onbekende beller",
    },
}


def caller_label(message: VoicemailMessage, language: str) -> str:
    """Who called, as the e-mail names them: name and number, the number, or "unknown"."""
    texts = TEXTS[language_of(language)]
    if message.caller_name and message.caller:
        return f"{message.caller_name} ({message.caller})"
    return message.caller_name or message.caller or texts["unknown"]


def message_mail(
    box: VoicemailBox, message: VoicemailMessage, sender: str, audio: bytes | None
) -> EmailMessage:
    """The e-mail announcing ``message`` to ``box.email``, with ``audio`` (FLAC) attached if given."""
    if box.email is None:
        raise ValueError("the box has no e-mail address")
    language = language_of(box.language)
    texts = TEXTS[language]
    caller = caller_label(message, language)
    local = message.received_at.astimezone(BRUSSELS)
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = box.email
    mail["Subject"] = texts["subject"].format(caller=caller)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "nuage.local")
    mail["Content-Language"] = language
    mail.set_content(
        texts["body"].format(
            caller=caller,
            day=local.strftime("%Y-%m-%d"),
            time=local.strftime("%H:%M"),
            seconds=round(message.duration_ms / 1000),
            box=f"{box.name} ({box.number})",
            attached=texts["attached"] if audio is not None else texts["not_attached"],
        )
    )
    if audio is not None:
        stamp = local.strftime("%Y%m%d-%H%M%S")
        mail.add_attachment(audio, maintype="audio", subtype="flac", filename=f"voicemail-{stamp}.flac")
    return mail
