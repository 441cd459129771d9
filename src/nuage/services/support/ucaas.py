"""Telavox UCaaS resale (BIL-8): activations from the catalogue, confirmation, billing as activated.

A customer (or its partner) activates a quantity of a catalogue item; it is ordered from the
upstream provider (``upstream.sync``, retried while the provider is down) and billed only from
the day the provider confirmed it (or the operator recorded its confirmation), until its
deactivation; a refused one is never billed.
``bill_month`` puts each activation's pro rata line for a month on the next invoice as a pending
charge, once per activation and month (BIL-9). Alarm and lift lines are refused (Telavox §2).
On abuse, the operator adds user licences retroactively to the contract start (``add_retroactive_licences``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from nuage.billing.lines import InvoiceLine
from nuage.directory.model import LinePurpose
from nuage.errors import InvalidInput, NotFound
from nuage.resale.ucaas import (
    Activation,
    CatalogueItem,
    activation_lines,
    check_activation,
    retroactive_licences,
)
from nuage.services.billing.contracts import contract_of
from nuage.services.context import Context
from nuage.services.support.charges import UCAAS_CATALOGUE, USER_LICENCE, catalogue_for, charge, charged
from nuage.services.support.ports import SupportUnitOfWork, UpstreamState
from nuage.services.support.upstream import queue_end, queue_order
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id
from nuage.shared.month import Month
from nuage.tenancy.model import PartyKind


def catalogue(
    uow: SupportUnitOfWork | None = None, ctx: Context | None = None, account_id: str | None = None
) -> list[CatalogueItem]:
    """BIL-8: what the resale catalogue sells, at an account's prices (its price list today, BIL-2)
    when one is named, else at the default prices."""
    if uow is None or ctx is None or account_id is None:
        return list(UCAAS_CATALOGUE.values())
    ctx.scope.require(account_id, "account")
    customer = uow.parties.find(account_id)
    if customer is None or customer.kind is not PartyKind.CUSTOMER:
        raise NotFound("customer", account_id)
    return list(catalogue_for(uow, customer, business_date(ctx.clock.now())).values())


def activate(
    uow: SupportUnitOfWork,
    ctx: Context,
    account_id: str,
    item_code: str,
    quantity: int,
    purpose: LinePurpose = LinePurpose.TELEPHONY,
) -> Activation:
    """BIL-8: request an item for an account; billed once the upstream confirms it."""
    ctx.scope.require(account_id, "account")
    customer = uow.parties.find(account_id)
    if customer is None or customer.kind is not PartyKind.CUSTOMER:
        raise NotFound("customer", account_id)
    item = UCAAS_CATALOGUE.get(item_code)
    if item is None:
        raise NotFound("catalogue item", item_code)
    check_activation(item, quantity, purpose)
    activation = Activation(new_id("uca"), account_id, item.code, quantity, None)
    uow.support.activations.add(activation)
    queue_order(uow, activation, ctx.clock.now())  # ordered from the upstream by ``upstream.sync``
    uow.commit()
    return activation


def get_activation(uow: SupportUnitOfWork, ctx: Context, activation_id: str) -> Activation:
    """BIL-8: an activation the caller sees."""
    found = uow.support.activations.find(activation_id)
    if found is None or not ctx.scope.can_see(found.account_id):
        raise NotFound("UCaaS activation", activation_id)
    return found


def list_activations(uow: SupportUnitOfWork, ctx: Context, account_id: str) -> list[Activation]:
    """BIL-8: an account's activations."""
    ctx.scope.require(account_id, "account")
    return uow.support.activations.list(account_id=account_id, order_by=("id",))


def confirm(uow: SupportUnitOfWork, ctx: Context, activation_id: str, on: date | None = None) -> Activation:
    """BIL-8: the upstream confirmed the activation (operator): billed from that day."""
    found = get_activation(uow, ctx, activation_id)
    if not ctx.scope.is_operator:
        raise NotFound("UCaaS activation", activation_id)
    if found.active_from is not None:
        raise InvalidInput("activation", "This activation is already confirmed")
    today = business_date(ctx.clock.now())
    day = on or today
    if day > today:
        raise InvalidInput("on", "A confirmation is not in the future")
    confirmed = replace(found, active_from=day)
    uow.support.activations.update(confirmed)
    order = uow.support.upstream_orders.find(found.id)
    if order is not None:  # confirmed by hand: nothing more to ask the upstream
        uow.support.upstream_orders.update(replace(order, state=UpstreamState.ACTIVE))
    uow.commit()
    return confirmed


def deactivate(uow: SupportUnitOfWork, ctx: Context, activation_id: str) -> Activation:
    """BIL-8: stop an item from today (today is no longer billed); an unconfirmed one is never billed."""
    found = get_activation(uow, ctx, activation_id)
    if found.active_until is not None:
        raise InvalidInput("activation", "This activation is already deactivated")
    today = business_date(ctx.clock.now())
    ended = replace(found, active_until=max(today, found.active_from) if found.active_from else today)
    uow.support.activations.update(ended)
    queue_end(uow, found.id, ctx.clock.now())
    uow.commit()
    return ended


def bill_month(uow: SupportUnitOfWork, ctx: Context, month: Month) -> int:
    """BIL-8/BIL-9: each activation's line for ``month`` as a pending charge, once; returns how many."""
    if not ctx.scope.is_operator:
        raise NotFound("billing job", "-")
    if month.last_day >= business_date(ctx.clock.now()):
        raise InvalidInput("month", "A month is billed once it is over")
    made = 0
    for activation in uow.support.activations.list(order_by=("id",)):
        key = f"ucaas:{activation.id}:{month}"
        if charged(uow, key):
            continue
        customer = uow.parties.get(activation.account_id)
        lines = activation_lines([activation], catalogue_for(uow, customer, month.first_day), month)
        if lines:
            charge(uow, ctx.clock, customer, "ucaas", key, lines)
            made += 1
    uow.commit()
    return made


def add_retroactive_licences(
    uow: SupportUnitOfWork, ctx: Context, account_id: str, missing: int, evidence: str
) -> InvoiceLine:
    """BIL-8 (abuse, Telavox §4b): the operator adds ``missing`` user licences, billed from the contract
    start to the month before this one, on one line citing BIL-8 and the evidence; once per evidence."""
    if not ctx.scope.is_operator:
        raise NotFound("customer", account_id)
    customer = uow.parties.find(account_id)
    if customer is None or customer.kind is not PartyKind.CUSTOMER:
        raise NotFound("customer", account_id)
    state = contract_of(uow, ctx, account_id)
    line = retroactive_licences(
        account_id=account_id,
        licence=catalogue_for(uow, customer, business_date(ctx.clock.now()))[USER_LICENCE],
        missing=missing,
        contract_start=state.contract.start_on,
        run_month=Month.at(ctx.clock.now()),
        evidence=evidence,
    )
    charge(uow, ctx.clock, customer, "ucaas", f"ucaas-abuse:{account_id}:{evidence}", [line])
    uow.commit()
    return line
