"""E.164 numbers, the one normaliser of the platform: parsing, normalising and classifying (CFG-6).

Two ways in: ``parse_e164`` for a number someone declares (strict: a valid number or InvalidInput),
``dialled_to_e164`` for what a caller dials (lenient: any possible number, else None).
"""

from __future__ import annotations

import phonenumbers

from nuage.errors import InvalidInput

DEFAULT_REGION = "BE"


def parse_e164(raw: str, *, region: str = DEFAULT_REGION, field: str = "e164") -> str:
    """Normalise a phone number to E.164 (``+3222...``); refuse what is not a valid number."""
    text = raw.strip()
    if not text:
        raise InvalidInput(field, "A phone number is required")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(field, f"Not a phone number: {raw!r} ({exc})", value=raw) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(field, f"Not a valid phone number: {raw!r}", value=raw)
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def dialled_to_e164(dialled: str, region: str = DEFAULT_REGION) -> str | None:
    """A dialled string as E.164: ``+…``, ``00…`` or a national number of ``region``; None if not possible."""
    text = dialled.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def region_of(e164: str) -> str | None:
    """The ISO region a number belongs to, when it has one."""
    parsed = phonenumbers.parse(e164, None)
    region = phonenumbers.region_code_for_number(parsed)
    return str(region) if region else None


def is_national(e164: str, *, home_region: str = DEFAULT_REGION) -> bool:
    """CFG-6: a number of the operator's home country is national, any other international."""
    return region_of(e164) == home_region
