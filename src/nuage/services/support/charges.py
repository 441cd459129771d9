"""The operator's support price list, and support events put on the next invoice as pending charges.

Decision: the terms (seeds 000, 001, 003) name time and materials, the port-out fee and the
carriage but give no amounts; these are the operator's price list defaults (excluding VAT).
A billable event becomes one pending charge per line (PAY-2 path: the next monthly run or
``invoice-charges`` puts it on the contracting party's invoice), remembered under its key so it is
never charged twice (BIL-9).
"""

from __future__ import annotations

from decimal import Decimal

from nuage.billing.lines import InvoiceLine
from nuage.errors import Conflict
from nuage.resale.ucaas import CatalogueItem, UcaasKind
from nuage.services.support.ports import SupportCharge, SupportUnitOfWork
from nuage.shared.clock import Clock, business_date
from nuage.tenancy.model import Party
from nuage.tenancy.rules import contracting_party_id

#: BIL-5: an hour of intervention (billed per started quarter hour)
INTERVENTION_HOURLY_RATE = Decimal("85.00")
#: HW-1: the carriage of a return out of warranty
RETURN_CARRIAGE = Decimal("15.00")
#: BIL-7: porting one number out
PORT_OUT_FEE = Decimal("25.00")

#: BIL-8: the user licence the abuse clause adds
USER_LICENCE = "tvx-user"

#: BIL-8: the Telavox UCaaS catalogue (seed 001 §4: licences, features and add-ons), monthly prices
UCAAS_CATALOGUE: dict[str, CatalogueItem] = {
    item.code: item
    for item in (
        CatalogueItem("tvx-user", UcaasKind.LICENCE, "User licence", Decimal("19.00")),
        CatalogueItem("tvx-shared", UcaasKind.SHARED_EXTENSION, "Shared extension", Decimal("9.00")),
        CatalogueItem("tvx-queue", UcaasKind.FEATURE, "Call queue", Decimal("12.00")),
        CatalogueItem("tvx-record", UcaasKind.FEATURE, "Call recording", Decimal("6.00")),
        CatalogueItem("tvx-teams", UcaasKind.ADDON, "Microsoft Teams integration", Decimal("5.00")),
    )
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
