"""Contract life (CTR-1..4): minimum term, termination notice, early-termination balance, bankruptcy.

Entry points:

* ``Contract(...)``: start date and minimum term (CTR-1, 24 months unless the order says otherwise);
* ``give_notice(contract, received_on, invoiced_through=...)`` → ``Termination`` (CTR-2);
* ``early_termination_balance(contract, termination, previous_services)`` → ``EarlyTerminationBalance``
  (CTR-3); ``billing.runs.invoice_early_termination`` turns it into an invoice draft;
* ``declare_bankruptcy(contract, proof_on)`` and ``billing_suspended(contract, day)`` (CTR-4).

Dates are Brussels business dates; ``*_on`` ends are exclusive (the first day without service).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from nuage.errors import InvalidInput, TermViolation
from nuage.shared.money import ZERO
from nuage.shared.month import Month
from nuage.terms.counting import ItemKind

DEFAULT_MINIMUM_TERM_MONTHS = 24  # CTR-1


def add_months(day: date, months: int) -> date:
    """CTR-1: the same day ``months`` later, clamped to the month's last day (31 Jan + 1 = 28 Feb)."""
    target = Month.of(day).plus(months)
    return date(target.year, target.month, min(day.day, calendar.monthrange(target.year, target.month)[1]))


@dataclass(frozen=True)
class Termination:
    """CTR-2: a termination notice and the day service ends (exclusive); nothing is refunded."""

    received_on: date
    effective_on: date  # first day without service: always the first day of a period
    refund: Decimal = ZERO  # CTR-2: "aucun montant ne sera crédité ou remboursé"

    @property
    def last_period(self) -> Month:
        """CTR-2: the last recurring period the customer has (and pays for)."""
        return Month.of(self.effective_on).previous()


@dataclass(frozen=True)
class Contract:
    """CTR-1: a customer's subscription: start date and minimum term (24 months by default)."""

    contract_id: str
    customer_id: str
    contracting_party_id: str  # TEN-5: the partner, or the customer itself when direct
    start_on: date
    minimum_term_months: int = DEFAULT_MINIMUM_TERM_MONTHS
    termination: Termination | None = None
    bankruptcy_proof_on: date | None = None

    def __post_init__(self) -> None:
        if self.minimum_term_months < 0:
            raise InvalidInput("minimum_term_months", "The minimum term must not be negative")

    @property
    def minimum_term_end_on(self) -> date:
        """CTR-1: the first day after the minimum term (start date + minimum term)."""
        # CTR-1 decision: the minimum term runs from the service start date, day to day.
        return add_months(self.start_on, self.minimum_term_months)

    def in_service(self, period: Month) -> bool:
        """CTR-2/CTR-4: whether any day of ``period`` is in service (started, not ended, not bankrupt)."""
        if period.last_day < self.start_on:
            return False
        if self.termination is not None and period.first_day >= self.termination.effective_on:
            return False
        return not (self.bankruptcy_proof_on is not None and period.first_day >= self.bankruptcy_proof_on)


def give_notice(
    contract: Contract,
    received_on: date,
    *,
    requested_end_on: date | None = None,
    invoiced_through: Month | None = None,
) -> Contract:
    """CTR-2: termination effective at the earliest at the end of the current recurring period."""
    if received_on < contract.start_on:
        raise InvalidInput("received_on", "A notice cannot precede the contract start")
    last_period = Month.of(max(received_on, requested_end_on or received_on))
    # CTR-2 decision: a period already invoiced in advance (BIL-2) is paid and not refunded,
    # so the service runs to its end: the notice takes effect after the last invoiced period.
    if invoiced_through is not None and invoiced_through > last_period:
        last_period = invoiced_through
    termination = Termination(received_on, last_period.next().first_day)
    return replace(contract, termination=termination)


def remaining_term_months(contract: Contract, from_on: date) -> Fraction:
    """CTR-3: recurring periods left in the minimum term from ``from_on``, the last one pro rata by day."""
    end_on = contract.minimum_term_end_on
    if from_on >= end_on:
        return Fraction(0)
    first, last = Month.of(from_on), Month.of(end_on)
    # CTR-3 decision: whole calendar months between the termination and the term end, plus the
    # share of the term's last, started month (days before the term end / days in that month),
    # matching the BIL-2 pro rata of the first month.
    months = Fraction(first.months_until(last)) - Fraction(from_on.day - 1, first.days)
    return months + Fraction(end_on.day - 1, last.days)


@dataclass(frozen=True)
class PreviousService:
    """CTR-3: one recurring service of the previous invoice (item, quantity, monthly unit price)."""

    customer_id: str
    item_kind: str  # an ItemKind value, or "traffic" for BIL-3 lines
    quantity: Decimal
    unit_price: Decimal
    source_key: str  # BIL-10: the previous invoice line it comes from


@dataclass(frozen=True)
class BalanceItem:
    """CTR-3: one service of the previous invoice owed for each remaining month of the term."""

    service: PreviousService
    months: Fraction
    amount: Decimal  # exact: quantity × unit price × months, rounded per line by billing


@dataclass(frozen=True)
class EarlyTerminationBalance:
    """CTR-3: the balance of the contract invoiced on early termination."""

    contract_id: str
    from_on: date
    remaining_months: Fraction
    items: tuple[BalanceItem, ...]


# CTR-3: "à l'exception du trafic et des numéros nationaux".
CTR3_EXCLUDED_KINDS = frozenset({"traffic", ItemKind.NATIONAL_NUMBERS.value})


def early_termination_balance(
    contract: Contract, previous_services: Iterable[PreviousService]
) -> EarlyTerminationBalance:
    """CTR-3: services of the previous invoice except traffic and national numbers, per remaining month."""
    termination = contract.termination
    if termination is None:
        raise TermViolation("CTR-3", "No termination notice: there is no early-termination balance")
    if contract.bankruptcy_proof_on is not None:
        raise TermViolation("CTR-4", "Billing is suspended after bankruptcy: no balance is invoiced")
    months = remaining_term_months(contract, termination.effective_on)
    items = tuple(
        BalanceItem(
            service,
            months,
            service.quantity * service.unit_price * months.numerator / Decimal(months.denominator),
        )
        for service in previous_services
        if months > 0 and service.item_kind not in CTR3_EXCLUDED_KINDS
    )
    return EarlyTerminationBalance(contract.contract_id, termination.effective_on, months, items)


def declare_bankruptcy(contract: Contract, proof_on: date) -> Contract:
    """CTR-4: on proof of bankruptcy, service is interrupted and billing suspended from ``proof_on``."""
    return replace(contract, bankruptcy_proof_on=proof_on)


def billing_suspended(contract: Contract, day: date) -> bool:
    """CTR-4: whether billing is suspended on ``day`` (on or after the bankruptcy proof date)."""
    return contract.bankruptcy_proof_on is not None and day >= contract.bankruptcy_proof_on


def service_interrupted(contract: Contract, day: date) -> bool:
    """CTR-2/CTR-4: whether the service is off on ``day`` (bankrupt, or the termination took effect)."""
    if billing_suspended(contract, day):
        return True
    return contract.termination is not None and day >= contract.termination.effective_on
