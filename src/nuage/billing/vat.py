"""Belgian VAT on invoices (BIL-4): standard rate, reverse charge, outside the EU.

The operator is established in Belgium. Decisions, per invoiced party:

* Belgian party: 21% (standard rate), business or not.
* Business in another EU member state with a VAT number: 0%, reverse charge
  ("autoliquidation", art. 44 and 196 of Directive 2006/112/EC); the invoice
  carries the mention and both VAT numbers.
* Party outside the EU: 0%, outside the scope of Belgian VAT (the service is
  supplied where the customer is, art. 21 §2 of the Belgian VAT code).
* Non-business party in another EU member state: refused. Telecom services to
  EU consumers are taxed in the consumer's country (one-stop shop, OSS), which
  Nuage does not compute; the party must be invoiced through a partner or the
  rate added here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from nuage.errors import InvalidInput
from nuage.shared.money import ZERO

BE_STANDARD_RATE = Decimal("0.21")
HOME_COUNTRY = "BE"
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


class PartyKind(StrEnum):
    """TEN-1/TEN-5: who is invoiced: a partner (for its indirect customers) or a direct customer."""

    PARTNER = "partner"
    DIRECT_CUSTOMER = "direct-customer"


@dataclass(frozen=True)
class BillingParty:
    """TEN-5: the contracting party an invoice is addressed to."""

    party_id: str
    name: str
    kind: PartyKind
    country: str  # ISO 3166-1 alpha-2 ("BE", "FR", "CH"...); Greece is "GR"
    vat_number: str | None = None
    is_business: bool = True
    language: str = "fr"


class VatRegime(StrEnum):
    """BIL-4: the VAT treatment of an invoice."""

    STANDARD = "standard"
    REVERSE_CHARGE = "reverse-charge"
    OUTSIDE_EU = "outside-eu"


@dataclass(frozen=True)
class VatTreatment:
    """BIL-4: the VAT rate of an invoice's lines and the legal mention it needs."""

    regime: VatRegime
    rate: Decimal
    mention_key: str | None = None  # translatable legal mention printed on the invoice


class VatCategory(StrEnum):
    """BIL-4: the VAT category of a line (UNCL5305 code, as EN 16931 uses it)."""

    STANDARD = "S"
    REVERSE_CHARGE = "AE"
    EXEMPT = "E"
    OUTSIDE_SCOPE = "O"


_CATEGORY_ORDER = {VatCategory.STANDARD: 0, VatCategory.REVERSE_CHARGE: 1, VatCategory.EXEMPT: 2}


@dataclass(frozen=True)
class LineVat:
    """BIL-4: the VAT category, rate and exemption reason of one line (or one breakdown row)."""

    category: VatCategory
    rate: Decimal
    exemption_code: str | None = None  # VATEX code (CEF list), when one applies
    exemption_key: str | None = None  # translatable exemption reason text (BT-120)

    @property
    def sort_key(self) -> tuple[int, Decimal, str]:
        """The order of the VAT breakdown: S, AE, E, O; then by rate."""
        return (_CATEGORY_ORDER.get(self.category, 3), self.rate, self.exemption_key or "")


#: PAY-2: late-payment interest, reminder fees and collection costs are compensation, not the
#: consideration for a supply: no VAT, under category E with this reason (see the module docstring).
COMPENSATION_VAT = LineVat(VatCategory.EXEMPT, ZERO, None, "vat.exemption.compensation")


def regime_vat(treatment: VatTreatment) -> LineVat:
    """BIL-4: the category of a line that follows its invoice's regime."""
    if treatment.regime is VatRegime.STANDARD:
        return LineVat(VatCategory.STANDARD, treatment.rate)
    if treatment.regime is VatRegime.REVERSE_CHARGE:
        return LineVat(VatCategory.REVERSE_CHARGE, ZERO, "VATEX-EU-AE", treatment.mention_key)
    return LineVat(VatCategory.OUTSIDE_SCOPE, ZERO, "VATEX-EU-O", treatment.mention_key)


def line_vat(own: LineVat | None, treatment: VatTreatment) -> LineVat:
    """BIL-4: the VAT of a line on an invoice: its own category, else the regime's; outside the
    EU every line is ``O`` (BR-O-11..14: no other category on an invoice with ``O``)."""
    if own is None or treatment.regime is VatRegime.OUTSIDE_EU:
        return regime_vat(treatment)
    return own


def vat_treatment(party: BillingParty) -> VatTreatment:
    """BIL-4: Belgian 21%, EU B2B reverse charge, 0% outside the EU (see the module docstring)."""
    country = party.country.upper()
    if country == HOME_COUNTRY:
        return VatTreatment(VatRegime.STANDARD, BE_STANDARD_RATE)
    if country not in EU_COUNTRIES:
        return VatTreatment(VatRegime.OUTSIDE_EU, ZERO, "vat.mention.outside_eu")
    if party.is_business and party.vat_number:
        return VatTreatment(VatRegime.REVERSE_CHARGE, ZERO, "vat.mention.reverse_charge")
    raise InvalidInput(
        "vat_number",
        f"{party.name}: an EU party outside Belgium needs a VAT number (consumer VAT, OSS, is not supported)",
        party_id=party.party_id,
    )
