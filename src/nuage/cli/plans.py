"""``nuage plans``: price plans, their price-list versions and who is billed with which (BIL-1/2).

nuage plans list
nuage plans publish --plan premium --version premium-1 --valid-from 2026-03-01 --copy-from business \\
    --price billable_users=19.50 --one-time activation=50 --capacity-reading graduated \\
    --interest-reading per-day
nuage plans assign --party cus_... --plan premium

A new version starts today or later and closes the open-ended version of its audience. It starts
from the version in force of ``--copy-from`` (default: the plan itself), then applies the given
prices and settings: ``--price ITEM=PRICE`` (per unit, per month), ``--one-time KIND=PRICE``,
the CAP-1 ``--capacity-reading`` and the PAY-2 ``--interest-reading`` (``operator``: the
operator's setting).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from nuage.billing.charge_models import ChargeSpec
from nuage.billing.plans import Audience, OneTimeKind, PriceList
from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.payments.dunning import InterestMode
from nuage.services.billing import plans
from nuage.shared.clock import business_date
from nuage.terms.counting import ItemKind

plans_app = typer.Typer(help="Price plans: versions, settings, assignment (BIL-1/2).", no_args_is_help=True)


def _pairs(values: list[str], option: str) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for value in values:
        name, _, raw = value.partition("=")
        try:
            price = Decimal(raw)
        except InvalidOperation:
            raise fail(f"{option}: {value!r} is not NAME=PRICE") from None
        if not price.is_finite() or price < 0 or price >= 1_000_000:
            raise fail(f"{option}: {value!r}: a price between 0 and 1000000")
        found[name.strip()] = price
    return found


def _show(p: PriceList) -> None:
    end = "open-ended" if p.valid_to is None else f"until {p.valid_to}"
    interest = p.interest_reading.value if p.interest_reading else "operator's setting"
    typer.echo(
        f"  {p.audience.value} {p.version}: from {p.valid_from}, {end}; capacity reading "
        f"{p.capacity_reading} (CAP-1), interest {interest} (PAY-2)"
    )
    for kind, spec in sorted(p.recurring.items()):
        typer.echo(f"    {kind.value}: {spec.model.value} {spec.base_unit_price} (BIL-2)")
    for one_time, price in sorted(p.one_time.items()):
        typer.echo(f"    {one_time.value}: {price} once (BIL-1)")


def _interest(option: str | None, current: InterestMode | None) -> InterestMode | None:
    """PAY-2: the reading named (``operator``: none, the operator's setting), else the current one."""
    if option is None:
        return current
    return None if option == "operator" else InterestMode(option)


@plans_app.command("list")
def list_plans(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """BIL-2: every plan with its versions, and the parties with a plan of their own."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = plans.list_plans(uow, ctx)
        assigned = plans.plan_assignments(uow, ctx)
    for plan in found:
        typer.echo(f"plan {plan.plan_id}")
        for price_list in plan.price_lists:
            _show(price_list)
    for party_id, plan_id in sorted(assigned.items()):
        typer.echo(f"{party_id} is billed with {plan_id}")


@plans_app.command("publish")
def publish(
    plan: Annotated[str, typer.Option("--plan", help="The plan id (a new one creates the plan).")],
    version: Annotated[str, typer.Option("--version", help="The new version's name.")],
    valid_from: Annotated[str, typer.Option("--valid-from", help="YYYY-MM-DD, today or later.")],
    audience: Annotated[Audience, typer.Option("--audience")] = Audience.CUSTOMER_RETAIL,
    copy_from: Annotated[str | None, typer.Option("--copy-from", help="Plan to start from.")] = None,
    price: Annotated[list[str] | None, typer.Option("--price", help="ITEM=PRICE, repeatable.")] = None,
    one_time: Annotated[list[str] | None, typer.Option("--one-time", help="KIND=PRICE, repeatable.")] = None,
    capacity_reading: Annotated[str | None, typer.Option("--capacity-reading")] = None,
    interest_reading: Annotated[str | None, typer.Option("--interest-reading")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-1/BIL-2: publish or schedule a price-list version."""
    try:
        start = date.fromisoformat(valid_from)
    except ValueError:
        raise fail(f"--valid-from: {valid_from!r} is not a date (YYYY-MM-DD)") from None
    items = {k.value for k in ItemKind}
    kinds = {k.value for k in OneTimeKind}
    prices, fees = _pairs(price or [], "--price"), _pairs(one_time or [], "--one-time")
    if unknown := sorted(set(prices) - items) + sorted(set(fees) - kinds):
        raise fail(f"unknown item(s) {', '.join(unknown)}: one of {', '.join(sorted(items | kinds))}")
    if capacity_reading not in (None, "literal", "graduated"):
        raise fail("--capacity-reading: literal or graduated (CAP-1)")
    readings = [m.value for m in InterestMode] + ["operator"]
    if interest_reading not in (None, *readings):
        raise fail(f"--interest-reading: one of {', '.join(readings)} (PAY-2)")
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        base = plans.get_plan(uow, ctx, copy_from or plan).price_list(
            audience, business_date(ctx.clock.now())
        )
        recurring = {**base.recurring, **{ItemKind(k): ChargeSpec(unit_price=v) for k, v in prices.items()}}
        new = PriceList(
            version,
            audience,
            start,
            recurring,
            {**base.one_time, **{OneTimeKind(k): v for k, v in fees.items()}},
            capacity_reading="graduated"
            if (capacity_reading or base.capacity_reading) == "graduated"
            else "literal",
            run_day=base.run_day,
            interest_reading=_interest(interest_reading, base.interest_reading),
        )
        published = plans.publish_price_list(uow, ctx, plan, new)
    typer.echo(f"published plan {plan}")
    _show(published)


@plans_app.command("assign")
def assign(
    party: Annotated[str, typer.Option("--party", help="A customer's or a partner's id.")],
    plan: Annotated[str, typer.Option("--plan", help="The plan id.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-2: the plan a customer (or every customer of a partner without its own) is billed with."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        plans.assign_plan(uow, ctx, party, plan)
    typer.echo(f"{party} is billed with plan {plan} (BIL-2)")
