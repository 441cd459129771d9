"""What support work costs, from the price list, and support events put on the next invoice as
pending charges.

The prices are the price list's (BIL-2): the plan the customer is billed with, in the version
valid on the day, retail for a direct customer and wholesale when its partner is invoiced (TEN-5):
the intervention hour (BIL-5), the carriage of a return (HW-1), the port-out fee (BIL-7) among its
fees, and the monthly prices of the Telavox items (BIL-8). A price list that names none of them
(one published before they were) falls back to the operator's defaults
(``services.billing.defaults``). A billable event becomes one pending charge per line (PAY-2 path:
the next monthly run or ``invoice-charges`` puts it on the contracting party's invoice),
remembered under its key so it is never charged twice (BIL-9).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from nuage.billing.lines import InvoiceLine
from nuage.billing.plans import Audience, OneTimeKind, PriceList
from nuage.errors import Conflict, NotFound
from nuage.resale.ucaas import CatalogueItem, UcaasKind
from nuage.services.billing.defaults import RESALE_PRICES, SERVICE_FEES
from nuage.services.billing.plans import PlanBook
from nuage.services.support.ports import SupportCharge, SupportUnitOfWork
from nuage.shared.clock import Clock, business_date
from nuage.tenancy.model import Party
from nuage.tenancy.rules import contracting_party_id

#: BIL-8: the user licence the abuse clause adds
USER_LICENCE = "tvx-user"

#: BIL-8: the Telavox UCaaS catalogue (seed 001 §4: licences, features and add-ons) at the default
#: monthly prices; what a customer pays is its price list's (``catalogue_for``)
UCAAS_CATALOGUE: dict[str, CatalogueItem] = {
    item.code: item
    for item in (
        CatalogueItem("tvx-user", UcaasKind.LICENCE, "User licence", RESALE_PRICES["tvx-user"]),
        CatalogueItem(
            "tvx-shared", UcaasKind.SHARED_EXTENSION, "Shared extension", RESALE_PRICES["tvx-shared"]
        ),
        CatalogueItem("tvx-queue", UcaasKind.FEATURE, "Call queue", RESALE_PRICES["tvx-queue"]),
        CatalogueItem("tvx-record", UcaasKind.FEATURE, "Call recording", RESALE_PRICES["tvx-record"]),
        CatalogueItem(
            "tvx-teams", UcaasKind.ADDON, "Microsoft Teams integration", RESALE_PRICES["tvx-teams"]
        ),
    )
}


def _price_list(uow: SupportUnitOfWork, customer: Party, on: date) -> PriceList | None:
    """BIL-2/TEN-5: the version of the customer's plan that prices its support on ``on``: retail,
    or wholesale when its partner is the one invoiced; None when its plan has no such version."""
    audience = Audience.CUSTOMER_RETAIL if customer.partner_id is None else Audience.PARTNER_WHOLESALE
    try:
        return PlanBook(uow.billing).for_customer(customer).price_list(audience, on)
    except NotFound:
        return None


def service_fee(uow: SupportUnitOfWork, customer: Party, kind: OneTimeKind, on: date) -> Decimal:
    """BIL-5/HW-1/BIL-7: a service fee of the customer's price list on ``on`` (else the default)."""
    prices = _price_list(uow, customer, on)
    found = prices.one_time.get(kind) if prices is not None else None
    return found if found is not None else SERVICE_FEES[kind]


def intervention_rate(uow: SupportUnitOfWork, account_id: str, on: date) -> Decimal:
    """BIL-5: the price list's hourly rate of an intervention for the account."""
    return service_fee(uow, uow.parties.get(account_id), OneTimeKind.INTERVENTION_HOUR, on)


def return_carriage(uow: SupportUnitOfWork, account_id: str, on: date) -> Decimal:
    """HW-1: the price list's carriage of a return out of warranty for the account."""
    return service_fee(uow, uow.parties.get(account_id), OneTimeKind.RETURN_CARRIAGE, on)


def port_out_fee(uow: SupportUnitOfWork, account_id: str, on: date) -> Decimal:
    """BIL-7: the price list's fee for porting one of the account's numbers out."""
    return service_fee(uow, uow.parties.get(account_id), OneTimeKind.PORT_OUT, on)


def catalogue_for(uow: SupportUnitOfWork, customer: Party, on: date) -> dict[str, CatalogueItem]:
    """BIL-8: the Telavox catalogue at the monthly prices of the customer's price list on ``on``."""
    prices = _price_list(uow, customer, on)
    resale = prices.resale if prices is not None else {}
    return {
        code: replace(item, monthly_price=resale[code]) if code in resale else item
        for code, item in UCAAS_CATALOGUE.items()
    }


def charged(uow: SupportUnitOfWork, key: str) -> bool:
    """BIL-9: whether the support event ``key`` was already charged."""
    return uow.support.charges.find(key) is not None


def charge(
    uow: SupportUnitOfWork, clock: Clock, customer: Party, kind: str, key: str, lines: list[InvoiceLine]
) -> list[int]:
    """PAY-2/BIL-10: ``lines`` as pending charges of the customer's contracting party, once per ``key``."""
    if charged(uow, key):
        raise Conflict(f"{key} is already charged", key=key)
    today = business_date(clock.now())
    party_id = contracting_party_id(customer)
    ids = [uow.payments.add_charge(party_id, kind, None, line, today) for line in lines]
    uow.support.charges.add(SupportCharge(key, ids[0] if ids else 0, today))
    return ids
