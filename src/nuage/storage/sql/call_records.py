"""Call records read from SQL: one keyset page of ``cdrs`` with the ``rated_calls`` prices of the runs
the viewer may read (``CallRecordStore``). The filter is the use case's; this module only says it in SQL.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from nuage.services.call_record_ports import CallRecord, CallRecordQuery, RatedPrice
from nuage.storage.sql import billing_tables, tables

_CDRS = tables.cdrs
_RATED = billing_tables.rated_calls


class SqlCallRecordStore:
    """``CallRecordStore`` in the unit of work's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def page(self, query: CallRecordQuery) -> list[CallRecord]:
        """Up to ``query.limit`` records after the cursor, oldest first, with their visible prices."""
        c = _CDRS.c
        where = _where(query)
        statement = select(_CDRS).where(*where).order_by(c.started_at, c.id).limit(query.limit)
        rows = self._connection.execute(statement).mappings().all()
        if not rows:
            return []
        prices = self._prices([str(r["id"]) for r in rows], query.runs)
        return [
            CallRecord(
                id=r["id"],
                call_id=r["call_id"],
                account_id=r["account_id"],
                direction=r["direction"],
                caller=r["caller"],
                callee=r["callee"],
                device_id=r["device_id"],
                user_id=r["user_id"],
                trunk_id=r["trunk_id"],
                started_at=r["started_at"],
                answered_at=r["answered_at"],
                ended_at=r["ended_at"],
                billable_seconds=r["billable_seconds"],
                disposition=r["outcome"],
                reason=r["disposition"],
                sip_status=r["sip_status"],
                refusal_rule=r["refusal_rule"],
                emergency=bool(r["emergency"]),
                source=r["source"],
                prices=tuple(prices.get(str(r["id"]), ())),
                loss_percent=r["loss_percent"],
                jitter_ms=r["jitter_ms"],
                mos=r["mos"],
            )
            for r in rows
        ]

    def _prices(self, cdr_ids: list[str], runs: frozenset[str]) -> dict[str, list[RatedPrice]]:
        if not runs:
            return {}
        r = _RATED.c
        found: dict[str, list[RatedPrice]] = defaultdict(list)
        statement = (
            select(r.cdr_id, r.run, r.amount_minor, r.charged_seconds, r.tariff_version, r.invoice_id)
            .where(r.cdr_id.in_(cdr_ids), r.run.in_(sorted(runs)))
            .order_by(r.cdr_id, r.run)
        )
        for row in self._connection.execute(statement):
            found[str(row.cdr_id)].append(
                RatedPrice(
                    run=row.run,
                    amount=Decimal(row.amount_minor).scaleb(-2),
                    charged_seconds=row.charged_seconds,
                    tariff_version=row.tariff_version,
                    invoice_id=row.invoice_id,
                )
            )
        return found


def _where(query: CallRecordQuery) -> list[ColumnElement[bool]]:
    c = _CDRS.c
    wanted = query.filter
    where: list[ColumnElement[bool]] = []
    if query.account_ids is not None:
        where.append(c.account_id.in_(sorted(query.account_ids)))
    if wanted.user_id is not None:
        mine = [c.user_id == wanted.user_id]
        if query.user_device_ids:
            mine.append(c.device_id.in_(query.user_device_ids))
        where.append(or_(*mine))
    if query.numbers:
        where.append(or_(c.caller.in_(query.numbers), c.callee.in_(query.numbers)))
    if wanted.since is not None:
        where.append(c.started_at >= wanted.since)
    if wanted.until is not None:
        where.append(c.started_at < wanted.until)
    if wanted.direction is not None:
        where.append(c.direction == wanted.direction)
    if wanted.disposition is not None:
        where.append(c.outcome == wanted.disposition)
    if wanted.refused_by is not None:
        where.append(c.refusal_rule == wanted.refused_by)
    if query.after is not None:
        at, key = query.after
        where.append(or_(c.started_at > at, and_(c.started_at == at, c.id > key)))
    return where
