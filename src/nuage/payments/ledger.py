"""Who owes what (PAY-1): invoices, credit notes and payments settled in date order, per contracting party.

``settle(documents, payments)`` replays every event in date order (documents on their issue
date before payments of the same day):

* an invoice opens a receivable; any credit already on the party's account pays it at once;
* a payment that names an invoice (its structured reference) pays that invoice, up to what
  is still open; the rest — an over-payment — becomes credit on the account;
* a credit note pays the invoice it cancels, the rest becomes credit;
* a payment naming no invoice (a parked entry assigned to a party) is account credit;
* account credit pays the party's open invoices, oldest due date first.

Each invoice keeps the dated settlements that paid it, which late-payment interest (PAY-2)
needs. A party's balance is what it owes: positive when it owes, negative for credit (TEN-5:
balances are per contracting party).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from nuage.shared.money import ZERO


@dataclass(frozen=True)
class Receivable:
    """PAY-1: an issued invoice (gross > 0) or credit note (gross given as a positive amount)."""

    number: str
    party_id: str  # TEN-5: the contracting party
    issue_on: date
    due_on: date
    gross: Decimal  # positive
    credit_note: bool = False
    credits: str | None = None  # for a credit note: the invoice it cancels


@dataclass(frozen=True)
class Payment:
    """PAY-1: money received from a party, matched to an invoice or left as account credit."""

    payment_id: str
    party_id: str
    received_on: date
    amount: Decimal  # positive
    invoice_number: str | None = None


@dataclass
class InvoiceState:
    """PAY-1/PAY-2: an invoice and the dated settlements that paid it."""

    number: str
    party_id: str
    issue_on: date
    due_on: date
    gross: Decimal
    settlements: list[tuple[date, Decimal]] = field(default_factory=list)

    @property
    def paid(self) -> Decimal:
        """PAY-1: how much of the invoice is paid."""
        return sum((amount for _, amount in self.settlements), ZERO)

    @property
    def outstanding(self) -> Decimal:
        """PAY-1: what is still to pay."""
        return self.gross - self.paid

    @property
    def paid_on(self) -> date | None:
        """PAY-1: the day the invoice was paid in full (None while open)."""
        if self.outstanding > ZERO:
            return None
        return max((day for day, _ in self.settlements), default=self.issue_on)

    def outstanding_on(self, day: date) -> Decimal:
        """PAY-2: what was unpaid at the start of ``day`` (settlements dated before it count)."""
        return self.gross - sum((amount for when, amount in self.settlements if when < day), ZERO)

    def overdue_on(self, day: date) -> bool:
        """PAY-1: unpaid after its due date."""
        return day > self.due_on and self.outstanding > ZERO


@dataclass
class Ledger:
    """PAY-1: the settled state of every invoice and the credit left on each account."""

    invoices: dict[str, InvoiceState]
    credit: dict[str, Decimal]  # unapplied account credit per party
    billed: dict[str, Decimal]  # invoices − credit notes, per party
    received: dict[str, Decimal]  # payments, per party

    def balance(self, party_id: str) -> Decimal:
        """PAY-1: what the party owes (negative: credit on its account)."""
        return self.billed.get(party_id, ZERO) - self.received.get(party_id, ZERO)

    def open_invoices(self, party_id: str | None = None) -> list[InvoiceState]:
        """PAY-1: invoices not paid in full, oldest due first."""
        found = [
            state
            for state in self.invoices.values()
            if state.outstanding > ZERO and (party_id is None or state.party_id == party_id)
        ]
        return sorted(found, key=lambda state: (state.due_on, state.number))

    def overdue(self, on: date, party_id: str | None = None) -> list[InvoiceState]:
        """PAY-1: invoices past their due date and not paid in full on ``on``."""
        return [state for state in self.open_invoices(party_id) if state.overdue_on(on)]


def _apply(state: InvoiceState, day: date, amount: Decimal) -> Decimal:
    """Pay up to ``amount`` of ``state`` on ``day``; return what is left."""
    used = min(amount, state.outstanding)
    if used > ZERO:
        state.settlements.append((day, used))
    return amount - used


def _spend_credit(ledger: Ledger, party_id: str, day: date) -> None:
    credit = ledger.credit.get(party_id, ZERO)
    for state in ledger.open_invoices(party_id):
        if credit <= ZERO:
            break
        if state.issue_on <= day:
            credit = _apply(state, day, credit)
    ledger.credit[party_id] = credit


def settle(documents: Iterable[Receivable], payments: Iterable[Payment]) -> Ledger:
    """PAY-1: replay documents and payments in date order (see the module docstring)."""
    ledger = Ledger({}, {}, {}, {})
    events: list[tuple[date, int, str, Receivable | Payment]] = []
    for document in documents:
        events.append((document.issue_on, 0, document.number, document))
    for payment in payments:
        events.append((payment.received_on, 1, payment.payment_id, payment))
    events.sort(key=lambda event: event[:3])
    for day, _, _, event in events:
        party = event.party_id
        if isinstance(event, Receivable):
            if event.credit_note:
                ledger.billed[party] = ledger.billed.get(party, ZERO) - event.gross
                left = event.gross
                target = ledger.invoices.get(event.credits or "")
                if target is not None:
                    left = _apply(target, day, left)
                ledger.credit[party] = ledger.credit.get(party, ZERO) + left
            else:
                ledger.billed[party] = ledger.billed.get(party, ZERO) + event.gross
                ledger.invoices[event.number] = InvoiceState(
                    event.number, party, event.issue_on, event.due_on, event.gross
                )
        else:
            ledger.received[party] = ledger.received.get(party, ZERO) + event.amount
            left = event.amount
            target = ledger.invoices.get(event.invoice_number or "")
            if target is not None and target.party_id == party:
                left = _apply(target, day, left)
            # PAY-1 decision: an over-payment (or an unreferenced payment) is credit on the account.
            ledger.credit[party] = ledger.credit.get(party, ZERO) + left
        _spend_credit(ledger, party, day)
    return ledger
