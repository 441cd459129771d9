"""Reversals of a contract's life (CTR-2, CTR-3, CTR-4), by the operator, each with its reason in
the contract's audit trail.

* ``withdraw_notice``: a notice withdrawn by agreement before it takes effect; the service goes on
  as if none had been given, and the early-termination invoice it issued (CTR-3) is cancelled by a
  credit note (an issued invoice is never edited, BIL-4). Once the service has ended, nothing is
  withdrawn: a new order makes a new contract.
* ``reverse_bankruptcy``: a bankruptcy recorded in error, or a judgement reversed; service and
  billing resume from today (the months in between are not billed back: billing was suspended,
  CTR-4).
"""

from __future__ import annotations

from dataclasses import replace

from nuage.billing.runs import billing_run_key
from nuage.errors import Conflict, InvalidInput, TermViolation
from nuage.services.billing.common import BILLING_JOB, require_operator
from nuage.services.billing.contracts import customer_contract, record_event
from nuage.services.billing.issuing import void_and_regenerate
from nuage.services.billing.ports import BillingUnitOfWork, StoredInvoice
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import business_date
from nuage.shared.text import clean_name
from nuage.tenancy.model import Party, PartyStatus
from nuage.tenancy.rules import contracting_party_id
from nuage.terms import contract as ctr


def _reason(reason: str) -> str:
    try:
        return clean_name(reason)
    except InvalidInput as error:
        raise InvalidInput("reason", f"Give the reason in 1 to 200 characters: {error}") from error


def withdraw_notice(
    uow: BillingUnitOfWork,
    ctx: Context,
    customer_id: str,
    reason: str,
    *,
    validator: EInvoiceValidator,
    settings: PaymentSettings | None = None,
) -> ctr.Contract:
    """CTR-2: withdraw a notice before it takes effect; CTR-3's balance invoice is credited; commit."""
    require_operator(ctx)
    why = _reason(reason)
    customer, state = customer_contract(uow, ctx, customer_id)
    termination = state.contract.termination
    if termination is None:
        raise Conflict("CTR-2: the contract has no termination notice to withdraw", customer_id=customer_id)
    if business_date(ctx.clock.now()) >= termination.effective_on:
        raise TermViolation(
            "CTR-2",
            f"The notice took effect on {termination.effective_on}: the contract has ended and a "
            "new order makes a new contract",
        )
    store = uow.billing
    store.lock(BILLING_JOB)
    contract = replace(state.contract, termination=None)
    store.save_contract(replace(state, contract=contract))
    credited = ""
    balance = _balance_invoice(uow, customer, state.contract, termination)
    if balance is not None and balance.credited_by is None:
        correction = void_and_regenerate(
            uow, ctx, balance.issued.number, regenerate=False, validator=validator, settings=settings
        )
        credited = f"; {balance.issued.number} credited by {correction.credit_note.issued.number}"
    if customer.status is PartyStatus.TERMINATED:
        uow.parties.update(
            replace(
                customer, status=PartyStatus.ACTIVE, status_changed_at=ctx.clock.now(), status_reason=None
            )
        )
    record_event(uow, ctx, customer_id, "notice-withdrawn", f"CTR-2: notice withdrawn ({why}){credited}")
    uow.commit()
    return contract


def _balance_invoice(
    uow: BillingUnitOfWork, customer: Party, contract: ctr.Contract, termination: ctr.Termination
) -> StoredInvoice | None:
    """CTR-3: the early-termination invoice the notice issued (its run key names the contract)."""
    party_id = contracting_party_id(customer)
    key = billing_run_key(
        invoiced_party_id=party_id,
        period=termination.effective_on.isoformat(),
        kind=f"early-termination:{contract.contract_id}",
    )
    headers, _ = uow.billing.list_invoices(
        party_ids=[party_id], period=None, customer_id=customer.id, limit=1000, offset=0
    )
    for header in reversed(headers):
        stored = uow.billing.find_invoice(header.number)
        if stored is not None and stored.issued.draft.run_key == key:
            return stored
    return None


def reverse_bankruptcy(uow: BillingUnitOfWork, ctx: Context, customer_id: str, reason: str) -> ctr.Contract:
    """CTR-4: undo a bankruptcy recorded in error or reversed by the court: service and billing
    resume from today; commit."""
    require_operator(ctx)
    why = _reason(reason)
    customer, state = customer_contract(uow, ctx, customer_id)
    if state.contract.bankruptcy_proof_on is None:
        raise Conflict("CTR-4: no bankruptcy is recorded for this customer", customer_id=customer_id)
    contract = replace(state.contract, bankruptcy_proof_on=None)
    uow.billing.save_contract(replace(state, contract=contract))
    if customer.status is PartyStatus.BANKRUPT:
        uow.parties.update(
            replace(
                customer, status=PartyStatus.ACTIVE, status_changed_at=ctx.clock.now(), status_reason=None
            )
        )
    record_event(uow, ctx, customer_id, "bankruptcy-reversed", f"CTR-4: bankruptcy reversed ({why})")
    uow.commit()
    return contract
