"""A party's invoicing identity, checked when it is given (TEN-5, BIL-4): country and VAT number.

Issued invoices freeze what they show (``documents.snapshot``); what they freeze must be right
from the start. When a party is created or changed:

* ``check_country``: an ISO 3166-1 alpha-2 code that exists (``pycountry``'s list, from the
  Debian iso-codes data): "XX" or "UK" is refused, "be" becomes "BE";
* ``check_vat_number``: a VAT number led by its country code whose format and check digits are
  right (``python-stdnum``: the EU numbers, Greece's "EL" and Northern Ireland's "XI" included,
  and the other countries it knows, e.g. "CHE-…" for Switzerland, "GB" for the United Kingdom),
  kept in its compact form ("BE 0123.456.749" becomes "BE0123456749").

A refusal is ``InvalidInput`` naming the field, with an ``error_id`` of its own.
"""

from __future__ import annotations

import pycountry
import stdnum
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from nuage.errors import InvalidInput

MAX_VAT_NUMBER = 32  # the column's size


class InvalidCountry(InvalidInput):
    """TEN-5: ``country`` is not an ISO 3166-1 alpha-2 code."""

    error_id = "invalid-country"


class InvalidVatNumber(InvalidInput):
    """TEN-5/BIL-4: ``vat_number`` is not a valid VAT number."""

    error_id = "invalid-vat-number"


def check_country(value: object) -> str:
    """TEN-5: an existing ISO 3166-1 alpha-2 country code, upper case."""
    text = str(value).strip().upper()
    if (
        len(text) != 2
        or not text.isascii()
        or not text.isalpha()
        or pycountry.countries.get(alpha_2=text) is None
    ):
        raise InvalidCountry(
            "country", f"country {str(value)[:8]!r} is not an ISO 3166-1 alpha-2 code (e.g. BE)"
        )
    return text


def check_vat_number(value: object) -> str:
    """TEN-5/BIL-4: a valid VAT number, led by its country code, in compact form."""
    text = str(value).strip().upper()
    if not text or len(text) > MAX_VAT_NUMBER or not text.isascii() or not text[:2].isalpha():
        raise InvalidVatNumber(
            "vat_number", "vat_number is a VAT number led by its country code (e.g. BE0123456749)"
        )
    prefix = text[:2].lower()
    try:
        if prefix in eu_vat.MEMBER_STATES or prefix == "el":
            compact: str = eu_vat.validate(text)
            return compact
        module = stdnum.get_cc_module(prefix, "vat")
        if module is None:
            raise InvalidVatNumber(
                "vat_number", f"vat_number: no VAT number scheme is known for {text[:2]!r}"
            )
        compact = module.validate(text)
        return compact if compact[:2].upper() == text[:2] else text[:2] + compact
    except ValidationError as exc:
        raise InvalidVatNumber("vat_number", f"vat_number {text!r} is not a valid VAT number: {exc}") from exc
