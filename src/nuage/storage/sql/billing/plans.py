"""Tariffs and price plans in storage (RAT-2, BIL-2): versioned tariffs per rating run, price lists
per plan and audience, and the plan each party is billed with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    insert,
    select,
    update,
)

from nuage.billing.plans import Audience, PriceList
from nuage.rating.tariffs import Tariff
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.base import SqlBillingBase
from nuage.storage.sql.billing.codecs import (
    price_list_from_row,
    spec_to_json,
)


class PlanStorage(SqlBillingBase):
    """RAT-2/BIL-2: tariffs, price lists and plan assignments."""

    def has_tariff(self, run: str, version: str) -> bool:
        t = bt.tariffs
        return (
            self._connection.execute(select(t.c.id).where(t.c.run == run, t.c.version == version)).first()
            is not None
        )

    def add_tariff(self, run: str, tariff: Tariff, created_at: datetime) -> None:
        t = bt.tariffs
        tariff_id = self._connection.execute(
            insert(t)
            .values(
                run=run,
                version=tariff.version,
                valid_from=tariff.valid_from,
                valid_to=tariff.valid_to,
                created_at=created_at,
            )
            .returning(t.c.id)
        ).scalar_one()
        rows = [
            {"tariff_id": tariff_id, "prefix": prefix.lstrip("+"), "per_minute": price}
            for prefix, price in tariff.per_minute_by_prefix.items()
        ]
        if rows:
            self._connection.execute(insert(bt.tariff_rates), rows)

    def tariffs(self, run: str) -> list[Tariff]:
        t, r = bt.tariffs, bt.tariff_rates
        headers = self._connection.execute(select(t).where(t.c.run == run).order_by(t.c.valid_from)).all()
        found: list[Tariff] = []
        for header in headers:
            rates = self._connection.execute(
                select(r.c.prefix, r.c.per_minute).where(r.c.tariff_id == header.id)
            ).all()
            found.append(
                Tariff(
                    header.version,
                    header.valid_from,
                    {prefix: per_minute for prefix, per_minute in rates},
                    valid_to=header.valid_to,
                )
            )
        return found

    def has_price_list(self, plan_id: str, audience: Audience, version: str) -> bool:
        p = bt.price_lists
        return (
            self._connection.execute(
                select(p.c.id).where(
                    p.c.plan_id == plan_id, p.c.audience == audience.value, p.c.version == version
                )
            ).first()
            is not None
        )

    def add_price_list(self, plan_id: str, price_list: PriceList, created_at: datetime) -> None:
        self._connection.execute(
            insert(bt.price_lists).values(
                plan_id=plan_id,
                version=price_list.version,
                audience=price_list.audience.value,
                valid_from=price_list.valid_from,
                valid_to=price_list.valid_to,
                recurring={kind.value: spec_to_json(spec) for kind, spec in price_list.recurring.items()},
                one_time={kind.value: str(price) for kind, price in price_list.one_time.items()},
                capacity_reading=price_list.capacity_reading,
                run_day=price_list.run_day,
                created_at=created_at,
            )
        )

    def price_lists(self, plan_id: str) -> list[PriceList]:
        p = bt.price_lists
        rows = self._connection.execute(
            select(p).where(p.c.plan_id == plan_id).order_by(p.c.valid_from)
        ).all()
        return [price_list_from_row(row) for row in rows]

    def assign_plan(self, party_id: str, plan_id: str, at: datetime) -> None:
        a = bt.plan_assignments
        done = self._connection.execute(
            update(a).where(a.c.party_id == party_id).values(plan_id=plan_id, assigned_at=at)
        )
        if done.rowcount == 0:
            self._connection.execute(insert(a).values(party_id=party_id, plan_id=plan_id, assigned_at=at))

    def plan_assignments(self) -> dict[str, str]:
        a = bt.plan_assignments
        return {
            party_id: plan_id
            for party_id, plan_id in self._connection.execute(select(a.c.party_id, a.c.plan_id))
        }
