"""Declaration audit and its regularisation (CNT-4, BIL-10): use cases.

``account_audit`` runs the audit of ``terms.audit`` on an account's configuration and on what
registers on the SIP side now (the SIP bindings), and says which findings were regularised.
``regularise`` turns one finding into a retroactive line on the contracting party's next invoice:
one missing user × each month already invoiced since the contract start, at the user price of
the customer's plan today, citing CNT-4, the finding and the contract (BIL-10). The line waits
as a pending charge, which the next monthly run (or ``invoice-charges``) puts on the invoice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.plans import Audience
from nuage.errors import Conflict, NotFound
from nuage.services.billing.audit_ports import AuditUnitOfWork
from nuage.services.billing.common import require_operator
from nuage.services.billing.contracts import contract_of
from nuage.services.billing.plans import PlanBook
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.services.tenancy import get_customer
from nuage.shared.clock import business_date
from nuage.shared.month import Month
from nuage.tenancy.model import Party
from nuage.tenancy.rules import contracting_party_id
from nuage.terms.audit import (
    REGULARISATION_CHARGE,
    DeclarationAudit,
    Shortfall,
    audit_declaration,
    regularisation,
)
from nuage.terms.counting import ItemKind


@dataclass(frozen=True)
class RegularisationRecord:
    """CNT-4: one regularised finding: its line and the invoice that carries it (None: pending)."""

    account_id: str
    finding: str
    line: InvoiceLine
    created_on: date
    invoiced_in: str | None


@dataclass(frozen=True)
class AccountAudit:
    """CNT-4: an account's declaration audit and the regularisations already made of it."""

    account_id: str
    audit: DeclarationAudit
    regularised: Mapping[str, RegularisationRecord]  # finding key -> its regularisation

    def regularisation_of(self, finding: Shortfall) -> RegularisationRecord | None:
        """The regularisation of one finding, if the operator made one."""
        return self.regularised.get(finding.key)


def _registered(uow: AuditUnitOfWork, ctx: Context, account_id: str) -> dict[str, int]:
    usernames = {d.sip_username for d in uow.devices.list(account_id=account_id) if d.sip_username}
    return uow.registrations.registered_phones(sorted(usernames), ctx.clock.now()) if usernames else {}


def regularisations_of(uow: BillingUnitOfWork, customer: Party) -> dict[str, RegularisationRecord]:
    """CNT-4: the regularisations made for a customer, by finding key (pending or invoiced)."""
    found: dict[str, RegularisationRecord] = {}
    for charge in uow.payments.charges(contracting_party_id(customer), pending_only=False):
        params = dict(charge.line.description_params)
        if charge.kind != REGULARISATION_CHARGE or params.get("customer") != customer.id:
            continue
        finding = params.get("finding", "")
        found[finding] = RegularisationRecord(
            customer.id, finding, charge.line, charge.created_on, charge.invoiced_in
        )
    return found


def account_audit(uow: AuditUnitOfWork, ctx: Context, account_id: str) -> AccountAudit:
    """CNT-4/TEN-4: the audit of an account the caller sees, with the findings already regularised."""
    customer = get_customer(uow, ctx, account_id)
    audit = audit_declaration(
        uow.users.list(account_id=account_id),
        uow.devices.list(account_id=account_id),
        uow.rooms.list(account_id=account_id),
        registered_phones=_registered(uow, ctx, account_id),
    )
    return AccountAudit(account_id, audit, regularisations_of(uow, customer))


def _months_invoiced(start_on: date, billed_through: Month | None) -> tuple[Month, Month, int] | None:
    if billed_through is None or billed_through < Month.of(start_on):
        return None
    first = Month.of(start_on)
    count = (billed_through.year - first.year) * 12 + billed_through.month - first.month + 1
    return first, billed_through, count


def regularise(uow: AuditUnitOfWork, ctx: Context, account_id: str, finding_key: str) -> RegularisationRecord:
    """CNT-4: invoice one finding's missing user for every month invoiced since the contract start.

    The line waits for the contracting party's next invoice (TEN-5). A finding is regularised once
    (a second time is a ``Conflict``); a finding the audit does not show (any more) is ``NotFound``.
    Commits.
    """
    require_operator(ctx)
    found = account_audit(uow, ctx, account_id)
    shortfall = next((s for s in found.audit.shortfalls if s.key == finding_key), None)
    if shortfall is None:
        raise NotFound("audit finding", finding_key)
    if finding_key in found.regularised:
        done = found.regularised[finding_key]
        raise Conflict(
            f"CNT-4: finding {finding_key} is already regularised "
            f"({done.invoiced_in or 'waiting for the next invoice'})",
            rule_id="CNT-4",
        )
    state = contract_of(uow, ctx, account_id)
    months = _months_invoiced(state.contract.start_on, state.recurring_billed_through)
    if months is None:
        raise Conflict(
            "CNT-4: nothing has been invoiced to this customer yet: declare the user instead, "
            "the next month-end count bills it",
            rule_id="CNT-4",
        )
    first, through, count = months
    customer = uow.parties.get(account_id)
    today = business_date(ctx.clock.now())
    audience = Audience.PARTNER_WHOLESALE if customer.partner_id else Audience.CUSTOMER_RETAIL
    prices = PlanBook(uow.billing).for_customer(customer).price_list(audience, today)
    spec = prices.recurring.get(ItemKind.BILLABLE_USERS)
    unit_price = spec.base_unit_price if spec is not None else Decimal(0)
    owed = regularisation(1, count, unit_price)
    line = make_line(
        rule_id="CNT-4",
        description_key="line.regularisation.billable_users",
        customer_id=account_id,
        item_kind=ItemKind.BILLABLE_USERS.value,
        period=None,
        quantity=Decimal(owed.missing_users * owed.months),
        unit_price=owed.unit_price,
        sources=(
            SourceRef("audit-finding", f"{account_id}:{finding_key}"),
            SourceRef("contract", state.contract.contract_id),
        ),
        params={
            "customer": account_id,
            "finding": finding_key,
            "rule": shortfall.rule_id,
            "users": str(owed.missing_users),
            "months": str(owed.months),
            "from": str(first),
            "through": str(through),
            "unit_price": str(owed.unit_price),
        },
    )
    party_id = contracting_party_id(customer)
    uow.payments.add_charge(party_id, REGULARISATION_CHARGE, None, line, today)
    uow.commit()
    return regularisations_of(uow, customer)[finding_key]
