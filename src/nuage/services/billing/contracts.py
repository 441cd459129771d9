"""Contract life (CTR-1..4): the contract made from a customer's first order, a termination notice
with its early-termination invoice (CTR-2, CTR-3) and a bankruptcy (CTR-4).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from nuage.billing.invoices import InvoiceDraft
from nuage.billing.runs import invoice_early_termination
from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.services.billing.common import BILLING_JOB, billing_party, require_operator
from nuage.services.billing.issuing import issue_all
from nuage.services.billing.ports import BillingUnitOfWork, ContractEvent, ContractState, StoredInvoice
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import business_date
from nuage.tenancy.model import Party, PartyStatus
from nuage.tenancy.rules import contracting_party_id
from nuage.terms import contract as ctr


def ensure_contract(uow: BillingUnitOfWork, ctx: Context, customer: Party) -> ContractState | None:
    """CTR-1: the customer's contract, created from its first order (minimum term from the order)."""
    existing = uow.billing.contract_for(customer.id)
    if existing is not None:
        return existing
    orders = uow.orders.list(customer_id=customer.id, order_by=("service_start_on", "id"))
    if not orders:
        return None
    order = orders[0]
    contract = ctr.Contract(
        contract_id=f"ctr_{order.id}"[:40],
        customer_id=customer.id,
        contracting_party_id=contracting_party_id(customer),
        start_on=order.service_start_on,
        minimum_term_months=order.minimum_term_months,
    )
    state = ContractState(contract, order.id)
    uow.billing.add_contract(state, ctx.clock.now())
    return state


def customer_contract(uow: BillingUnitOfWork, ctx: Context, customer_id: str) -> tuple[Party, ContractState]:
    ctx.scope.require(customer_id, "customer")
    customer = uow.parties.get(customer_id)
    state = ensure_contract(uow, ctx, customer)
    if state is None:
        raise NotFound("contract", customer_id)
    return customer, state


def contract_of(uow: BillingUnitOfWork, ctx: Context, customer_id: str) -> ContractState:
    """CTR-1..4/TEN-4: a customer's contract as it stands (made from its first order if need be)."""
    return customer_contract(uow, ctx, customer_id)[1]


@dataclass(frozen=True)
class NoticeOutcome:
    """CTR-2/CTR-3: the contract after the notice and the early-termination invoice, if any.

    A preview (``confirm=False``) carries the draft the notice would issue and changes nothing.
    """

    contract: ctr.Contract
    balance_invoice: StoredInvoice | None
    balance_draft: InvoiceDraft | None = None
    confirmed: bool = True

    @property
    def draft(self) -> InvoiceDraft | None:
        """CTR-3: the balance's lines: the preview's draft, or the invoice it became."""
        if self.balance_invoice is not None:
            return self.balance_invoice.issued.draft
        return self.balance_draft

    @property
    def balance(self) -> Decimal:
        """CTR-3: the early-termination balance before VAT (0 when the term is over)."""
        draft = self.draft
        return sum((line.amount for line in draft.lines), Decimal(0)) if draft is not None else Decimal(0)


def give_notice(
    uow: BillingUnitOfWork,
    ctx: Context,
    customer_id: str,
    received_on: date,
    *,
    validator: EInvoiceValidator,
    requested_end_on: date | None = None,
    settings: PaymentSettings | None = None,
    confirm: bool = True,
) -> NoticeOutcome:
    """CTR-2: record a notice (effective after the current period); CTR-3: invoice the balance if early.

    With ``confirm=False`` nothing is written: the outcome shows the effective date and the balance
    the notice would invoice, so the operator sees it before confirming.
    """
    require_operator(ctx)
    customer, state = customer_contract(uow, ctx, customer_id)
    if state.contract.termination is not None:
        raise Conflict("CTR-2: the contract already has a termination notice", customer_id=customer_id)
    if state.contract.bankruptcy_proof_on is not None:
        raise TermViolation("CTR-4", "The customer is bankrupt: its service and billing already stopped")
    if received_on > business_date(ctx.clock.now()):
        raise InvalidInput(
            "received_on", "A notice is recorded once received: received_on is not in the future"
        )
    contract = ctr.give_notice(
        state.contract,
        received_on,
        requested_end_on=requested_end_on,
        invoiced_through=state.recurring_billed_through,
    )
    store = uow.billing
    draft = _balance_draft(uow, ctx, customer, contract)
    if not confirm:
        return NoticeOutcome(contract, None, draft, confirmed=False)
    store.lock(BILLING_JOB)
    store.save_contract(replace(state, contract=contract))
    invoice: StoredInvoice | None = None
    if draft is not None and not store.existing_run_keys([draft.run_key]):
        (invoice,) = issue_all(uow, [draft], "early-termination", ctx.clock.now(), settings, validator)
    assert contract.termination is not None
    balance = f"; balance invoiced on {invoice.issued.number}" if invoice is not None else ""
    record_event(
        uow,
        ctx,
        customer_id,
        "notice",
        f"CTR-2: notice received on {received_on}, effective on {contract.termination.effective_on}{balance}",
    )
    uow.commit()
    return NoticeOutcome(contract, invoice)


def _balance_draft(
    uow: BillingUnitOfWork, ctx: Context, customer: Party, contract: ctr.Contract
) -> InvoiceDraft | None:
    """CTR-3: the early-termination invoice a notice ending before the minimum term gives."""
    termination = contract.termination
    if termination is None or termination.effective_on >= contract.minimum_term_end_on:
        return None
    party_id = contracting_party_id(customer)
    previous = uow.billing.latest_recurring_invoice(party_id, customer.id)
    if previous is None:
        return None
    return invoice_early_termination(
        replace(contract, contracting_party_id=party_id),
        billing_party(uow.parties.get(party_id)),
        previous.issued.draft,
        business_date(ctx.clock.now()),
        previous_invoice_number=previous.issued.number,
    )


def apply_terminations(uow: BillingUnitOfWork, ctx: Context) -> list[str]:
    """CTR-2: the customers whose termination took effect stop: their status becomes ``terminated``
    (the SIP policy then refuses every call but emergency ones, EMG-4); commit. Idempotent."""
    require_operator(ctx)
    today = business_date(ctx.clock.now())
    ended: list[str] = []
    for state in uow.billing.contracts():
        termination = state.contract.termination
        if termination is None or today < termination.effective_on:
            continue
        customer = uow.parties.find(state.contract.customer_id)
        if customer is None or customer.status in (PartyStatus.TERMINATED, PartyStatus.BANKRUPT):
            continue
        uow.parties.update(
            replace(
                customer,
                status=PartyStatus.TERMINATED,
                status_changed_at=ctx.clock.now(),
                status_reason=(
                    f"CTR-2: notice received on {termination.received_on.isoformat()}, "
                    f"effective on {termination.effective_on.isoformat()}"
                ),
            )
        )
        record_event(uow, ctx, customer.id, "terminated", "CTR-2: the notice took effect; service ended")
        ended.append(customer.id)
    uow.commit()
    return ended


def declare_bankruptcy(
    uow: BillingUnitOfWork, ctx: Context, customer_id: str, proof_on: date
) -> ctr.Contract:
    """CTR-4: on proof of bankruptcy, service is interrupted and billing suspended; commit."""
    require_operator(ctx)
    customer, state = customer_contract(uow, ctx, customer_id)
    if state.contract.bankruptcy_proof_on is not None:
        raise Conflict("CTR-4: the bankruptcy is already declared", customer_id=customer_id)
    if proof_on > business_date(ctx.clock.now()):
        raise InvalidInput("proof_on", "The proof of bankruptcy is dated: not a day in the future")
    contract = ctr.declare_bankruptcy(state.contract, proof_on)
    uow.billing.save_contract(replace(state, contract=contract))
    uow.parties.update(
        replace(
            customer,
            status=PartyStatus.BANKRUPT,
            status_changed_at=ctx.clock.now(),
            status_reason=f"CTR-4: bankruptcy proven on {proof_on.isoformat()}",
        )
    )
    record_event(uow, ctx, customer_id, "bankruptcy", f"CTR-4: bankruptcy proven on {proof_on}")
    uow.commit()
    return contract


def record_event(uow: BillingUnitOfWork, ctx: Context, customer_id: str, action: str, detail: str) -> None:
    """CTR-2/CTR-4: one line of the contract's audit trail, in the caller's transaction."""
    uow.billing.add_contract_event(
        ContractEvent(customer_id, ctx.clock.now(), action, detail, ctx.scope.viewer_id)
    )


def contract_history(uow: BillingUnitOfWork, ctx: Context, customer_id: str) -> list[ContractEvent]:
    """CTR-2/CTR-4/TEN-4: the contract's audit trail, oldest first."""
    ctx.scope.require(customer_id, "customer")
    return uow.billing.contract_events(customer_id)
