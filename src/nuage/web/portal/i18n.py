"""The portal's languages (EN/FR/NL): message catalogues and the choice of a page's language.

Every string a page shows goes through ``_()``; English is the message id itself, French and Dutch
come from the gettext catalogues ``locales/<lang>.po`` beside this module (read with Babel once).
A page is in the user's language, else the one chosen on the login page, else the browser's
``Accept-Language``, else English. Dates, money and numbers are written the Belgian way of that
language (fr_BE, nl_BE, en_BE).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from nuage.directory.model import DeviceKind, LinePurpose
from nuage.directory.voicemail import Greeting
from nuage.services.call_records import DIRECTIONS, DISPOSITIONS
from nuage.shared.clock import BUSINESS_TZ

LANGUAGES = ("en", "fr", "nl")
DEFAULT = "en"
LOCALES = Path(__file__).parent / "locales"

Gettext = Callable[..., str]
#: messages the pages translate from values (roles, statuses, call outcomes, device kinds and
#: purposes, voicemail greetings), beside the templates' own
DYNAMIC = (
    *("user", "administrator", "supervisor"),
    *("active", "suspended", "bankrupt", "terminated"),
    *sorted(DIRECTIONS),
    *sorted(DISPOSITIONS),
    *(kind.value for kind in DeviceKind),
    *(purpose.value for purpose in LinePurpose),
    *(greeting.value for greeting in Greeting),
)
#: English words for the values among them that are not words (``desk_phone``)
ENGLISH = {
    "desk_phone": "Desk phone",
    "softphone_mobile": "Softphone (mobile)",
    "softphone_pc": "Softphone (computer)",
    "door_phone": "Door phone",
    "fax": "Fax",
    "emergency_phone": "Emergency phone",
    "pager": "Pager",
    "buzzer": "Buzzer",
    "flasher": "Flasher",
    "name": "the box's name",
}


@cache
def catalogue(language: str) -> dict[str, str]:
    """The translated messages of ``language`` (for English, only ``ENGLISH``: the ids are English)."""
    if language == DEFAULT:
        return ENGLISH
    with (LOCALES / f"{language}.po").open("rb") as handle:
        found = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in found if m.id and isinstance(m.id, str) and m.string}


def gettext(language: str) -> Gettext:
    """``_(message, **values)``: the message in ``language`` (English when untranslated), formatted."""
    table = catalogue(language if language in LANGUAGES else DEFAULT)

    def translate(message: str, **values: object) -> str:
        text = table.get(message, message)
        return text.format(**values) if values else text

    return translate


def locale_of(language: str) -> str:
    """The Belgian locale of a language (fr_BE, nl_BE, en_BE): dates, money and numbers."""
    return f"{language if language in LANGUAGES else DEFAULT}_BE"


def money(amount: Decimal, currency: str, language: str) -> str:
    """An amount in the language's Belgian format (e.g. ``1.234,50 €`` in Dutch)."""
    return format_currency(amount, currency, locale=locale_of(language))


def number(value: int | Decimal, language: str) -> str:
    """A count or quantity in the language's Belgian format (``1.234,5`` in Dutch)."""
    return format_decimal(value, locale=locale_of(language))


def day(value: date, language: str) -> str:
    """A date in the language's medium format."""
    return format_date(value, format="medium", locale=locale_of(language))


def moment(value: datetime, language: str) -> str:
    """An instant on the Brussels clock, in the language's short format."""
    return format_datetime(value, format="short", tzinfo=BUSINESS_TZ, locale=locale_of(language))


def from_accept_language(header: str | None) -> str | None:
    """The first of our languages the browser asks for (by its ``q`` weights), or None."""
    if not header:
        return None
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:500].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LANGUAGES and weight > 0:
            wanted.append((-weight, index, language))
    return min(wanted)[2] if wanted else None


def choose(user_language: str | None, session_language: str | None, accept: str | None) -> str:
    """The page's language: the user's, the session's, the browser's, else English."""
    for language in (user_language, session_language, from_accept_language(accept)):
        if language in LANGUAGES:
            return language
    return DEFAULT
