"""Belgian structured payment reference, ``+++xxx/xxxx/xxxxx+++`` (OGM/VCS), for PAY-1..2 matching.

Ten digits and two mod-97 check digits (a remainder of 0 is written 97), checked with
python-stdnum's ``stdnum.be.ogm_vcs``. Decision: the ten digits are the invoice's year and
its six-digit sequence (``INV-2026-000042`` → ``2026000042``), so a reference names exactly
one invoice and a bank statement is matched without a lookup table. Credit notes carry no
payment reference (nothing is paid on them).
"""

from __future__ import annotations

import re

from stdnum.be import ogm_vcs
from stdnum.exceptions import ValidationError

from nuage.billing.numbering import INVOICE_SERIES, format_number
from nuage.errors import InvalidInput

_INVOICE = re.compile(rf"{INVOICE_SERIES}-(?P<year>\d{{4}})-(?P<sequence>\d{{6}})")


def check_digits(base: str) -> str:
    """The two mod-97 check digits of ten digits (``97`` when the remainder is 0)."""
    if len(base) != 10 or not base.isdigit():
        raise InvalidInput(
            "reference", f"a structured reference has ten digits before its check, got {base!r}"
        )
    return str(ogm_vcs.calc_check_digits(base))


def format_reference(digits: str) -> str:
    """The printed form ``+++123/4567/89012+++`` of twelve digits."""
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


def reference_for(invoice_number: str) -> str:
    """PAY-1: the structured reference of an invoice (see the module docstring)."""
    match = _INVOICE.fullmatch(invoice_number)
    if match is None:
        raise InvalidInput(
            "invoice_number",
            f"{invoice_number!r} has no structured reference (only {INVOICE_SERIES} invoices)",
        )
    base = match["year"] + match["sequence"]
    return format_reference(base + check_digits(base))


def normalise_reference(text: str) -> str | None:
    """The twelve digits of a valid structured reference found in ``text`` (any punctuation), or None."""
    found = re.search(r"\+{3}\s*(\d{3})\s*/\s*(\d{4})\s*/\s*(\d{5})\s*\+{3}", text)
    candidate = "".join(found.groups()) if found else re.sub(r"[\s+/*]", "", text)
    if len(candidate) != 12 or not candidate.isdigit():
        return None
    try:
        return str(ogm_vcs.validate(candidate))
    except ValidationError:
        return None


def invoice_for_reference(text: str) -> str | None:
    """PAY-1: the invoice number a structured reference names, or None when it is not valid."""
    digits = normalise_reference(text)
    if digits is None:
        return None
    return format_number(INVOICE_SERIES, int(digits[:4]), int(digits[4:10]))
