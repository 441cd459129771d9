"""Belgian formats for amounts, numbers and dates in EN, FR and NL (Languages, BIL-4).

Babel's ``fr_BE``, ``nl_BE`` and ``en_BE`` locales: "1 234,56 €" in French, "€ 1.234,56"
in Dutch and "1.234,56 €" in Belgian English (Belgian separators, not "1,234.56").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from nuage.documents.messages import check_language

LOCALES = {"en": "en_BE", "fr": "fr_BE", "nl": "nl_BE"}


def locale_for(language: str) -> str:
    """Languages: the Belgian locale of a language."""
    return LOCALES[check_language(language)]


def money(amount: Decimal, language: str, currency: str = "EUR") -> str:
    """BIL-4: an amount with its currency, in the Belgian format of ``language``."""
    return str(format_currency(amount, currency, locale=locale_for(language)))


def number(value: Decimal, language: str, *, decimals: int = 2) -> str:
    """BIL-4: a plain amount (no currency sign) with exactly ``decimals`` decimals."""
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return str(format_decimal(value, format=pattern, locale=locale_for(language)))


def quantity(value: Decimal, language: str) -> str:
    """BIL-10: a counted quantity without trailing zeros (2, 1,5)."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return number(value, language, decimals=decimals)


def day(value: date, language: str) -> str:
    """BIL-4: a date in the medium form of the Belgian locale ("10 mars 2026", "10 mrt 2026")."""
    return str(format_date(value, format="medium", locale=locale_for(language)))


def percent(rate: Decimal, language: str) -> str:
    """BIL-4: a VAT rate (0.21 -> "21 %" / "21%")."""
    return number(rate * 100, language, decimals=0) + ("\u202f%" if language == "fr" else "%")
