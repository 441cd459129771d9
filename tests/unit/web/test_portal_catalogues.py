"""The portal's EN/FR/NL catalogues are complete: every message a page or an e-mail shows has both
translations. The messages are extracted with Babel (Jinja2's extractor for the templates, Python's
for the portal's code), as ``pybabel extract`` would."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from nuage.web.portal import i18n

WEB = Path(i18n.__file__).parent.parent
_METHODS = [("templates/**.html", "jinja2.ext.babel_extract"), ("**.py", "python")]


def _extracted() -> dict[str, str]:
    """Every message ``_()`` is called with in the portal's templates and code, and where."""
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(WEB), _METHODS, keywords={"_": None}
    ):
        if isinstance(message, str):
            found.setdefault(message, f"{filename}:{line}")
    return found


def _messages() -> set[str]:
    return set(i18n.DYNAMIC) | set(_extracted())


def test_babel_finds_the_messages_of_the_templates_and_of_the_code() -> None:
    where = _extracted()
    assert where["Log in"].startswith("templates/")
    assert "recovery.py" in where["{brand}: choose a new password"]


def test_the_templates_show_messages() -> None:
    assert len(_messages()) > 50
    assert "Log in" in _messages()


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_every_message_has_its_translation(language: str) -> None:
    table = i18n.catalogue(language)
    where = _extracted()
    missing = sorted(f"{where.get(m, 'i18n.DYNAMIC')}: {m}" for m in _messages() if not table.get(m))
    assert missing == []
    for message, translated in table.items():  # placeholders survive the translation
        assert set(re.findall(r"{\w+}", message)) == set(re.findall(r"{\w+}", translated)), message


@pytest.mark.parametrize(
    ("user", "session", "accept", "expected"),
    [
        ("nl", "fr", "en", "nl"),
        (None, "fr", "nl-BE,nl;q=0.9", "fr"),
        (None, None, "de-DE, nl;q=0.5, fr;q=0.8", "fr"),
        (None, None, "de-DE", "en"),
        (None, None, None, "en"),
        ("xx", None, "fr;q=0", "en"),
    ],
)
def test_a_pages_language_is_the_users_then_the_sessions_then_the_browsers(
    user: str | None, session: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.choose(user, session, accept) == expected


def test_an_untranslated_message_is_english_and_values_are_filled_in() -> None:
    assert i18n.gettext("fr")("Refused by rule {rule}", rule="CFG-5") == "Refusé par la règle CFG-5"
    assert i18n.gettext("nl")("Not in the catalogue") == "Not in the catalogue"


def test_money_and_dates_are_written_the_belgian_way_of_each_language() -> None:
    amount, on = Decimal("1234.50"), date(2026, 1, 31)
    assert i18n.money(amount, "EUR", "nl") == "€\xa01.234,50"
    assert i18n.money(amount, "EUR", "fr") == "1\u202f234,50\xa0€"
    assert i18n.day(on, "fr") == "31 janv. 2026"
    noon_utc = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert i18n.moment(noon_utc, "nl").endswith("13:00")  # on the Brussels clock


def test_numbers_are_written_the_belgian_way_of_each_language() -> None:
    assert i18n.number(Decimal("1234.5"), "nl") == "1.234,5"
    assert i18n.number(Decimal("1234.5"), "fr") == "1\u202f234,5"
    assert i18n.number(1234, "en") == "1.234"  # en_BE groups as Belgium does
    assert i18n.locale_of("nl") == "nl_BE"
    assert i18n.locale_of("de") == "en_BE"
