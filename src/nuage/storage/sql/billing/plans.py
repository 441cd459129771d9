"""Tariffs and price plans in storage (RAT-2, BIL-2): versioned tariffs per rating run, price lists
per plan and audience, and the plan each party is billed with.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    insert,
    select,
    update,
)

from nuage.billing.plans import Audience, PriceList
from nuage.rating.tariffs import RateTerms, Tariff
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
        terms = tariff.terms_by_prefix
        rows = [
            {
                "tariff_id": tariff_id,
                "prefix": prefix.lstrip("+"),
                "per_minute": price,
                "description": terms[prefix].description if prefix in terms else "",
                "minimum": terms[prefix].minimum if prefix in terms else 0,
                "connection_fee": terms[prefix].connection_fee if prefix in terms else 0,
            }
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
                select(r.c.prefix, r.c.per_minute, r.c.description, r.c.minimum, r.c.connection_fee).where(
                    r.c.tariff_id == header.id
                )
            ).all()
            found.append(
                Tariff(
                    header.version,
                    header.valid_from,
                    {rate.prefix: rate.per_minute for rate in rates},
                    valid_to=header.valid_to,
                    terms_by_prefix={
                        rate.prefix: RateTerms(rate.description, rate.minimum, rate.connection_fee)
                        for rate in rates
                        if rate.description or rate.minimum or rate.connection_fee
                    },
                )
            )
        return found

    def close_tariff(self, run: str, version: str, valid_to: datetime) -> None:
        t = bt.tariffs
        self._connection.execute(
            update(t).where(t.c.run == run, t.c.version == version).values(valid_to=valid_to)
        )

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
                interest_reading=None
                if price_list.interest_reading is None
                else price_list.interest_reading.value,
                resale={code: str(price) for code, price in price_list.resale.items()},
                created_at=created_at,
            )
        )

    def price_lists(self, plan_id: str) -> list[PriceList]:
        p = bt.price_lists
        rows = self._connection.execute(
            select(p).where(p.c.plan_id == plan_id).order_by(p.c.valid_from)
        ).all()
        return [price_list_from_row(row) for row in rows]

    def close_price_list(self, plan_id: str, audience: Audience, version: str, valid_to: date) -> None:
        p = bt.price_lists
        self._connection.execute(
            update(p)
            .where(p.c.plan_id == plan_id, p.c.audience == audience.value, p.c.version == version)
            .values(valid_to=valid_to)
        )

    def plan_ids(self) -> list[str]:
        p = bt.price_lists
        return list(self._connection.execute(select(p.c.plan_id).distinct().order_by(p.c.plan_id)).scalars())

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
