"""Contracts in storage (CTR-1..4, BIL-9): each customer's contract, its order and the last period billed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    bindparam,
    insert,
    select,
    update,
)

from nuage.services.billing.ports import (
    ContractEvent,
    ContractState,
)
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.base import SqlBillingBase
from nuage.storage.sql.billing.codecs import (
    contract_from_row,
    contract_row,
)


class ContractStorage(SqlBillingBase):
    """CTR-1..4/BIL-9: contracts and how far their recurring items are billed."""

    def contracts(self) -> list[ContractState]:
        c = bt.contracts
        return [
            contract_from_row(row)
            for row in self._connection.execute(select(c).order_by(c.c.contracting_party_id, c.c.customer_id))
        ]

    def contract_for(self, customer_id: str) -> ContractState | None:
        c = bt.contracts
        row = self._connection.execute(select(c).where(c.c.customer_id == customer_id)).first()
        return None if row is None else contract_from_row(row)

    def add_contract(self, state: ContractState, created_at: datetime) -> None:
        self._connection.execute(insert(bt.contracts).values(**contract_row(state), created_at=created_at))

    def save_contract(self, state: ContractState) -> None:
        c = bt.contracts
        row = contract_row(state)
        contract_id = row.pop("id")
        self._connection.execute(update(c).where(c.c.id == contract_id).values(**row))

    def save_contracts(self, states: Sequence[ContractState]) -> None:
        if not states:
            return
        c = bt.contracts
        rows = []
        for state in states:
            row = contract_row(state)
            row["contract_id"] = row.pop("id")
            rows.append(row)
        self._connection.execute(update(c).where(c.c.id == bindparam("contract_id")), rows)

    def add_contract_event(self, event: ContractEvent) -> None:
        self._connection.execute(
            insert(bt.contract_events).values(
                customer_id=event.customer_id,
                at=event.at,
                action=event.action,
                detail=event.detail[:500],
                actor_id=event.actor_id,
            )
        )

    def contract_events(self, customer_id: str) -> list[ContractEvent]:
        e = bt.contract_events
        rows = self._connection.execute(select(e).where(e.c.customer_id == customer_id).order_by(e.c.id))
        return [ContractEvent(r.customer_id, r.at, r.action, r.detail, r.actor_id) for r in rows]
