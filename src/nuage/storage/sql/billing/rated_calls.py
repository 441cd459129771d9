"""Cost records and pack balances in storage (RAT-1..3): the rating pass's writes, through the
dialect's ``RatedCallWriter`` (PostgreSQL ``COPY``, SQLite bulk inserts), and the reads of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert, select, update

from nuage.rating.packs import PackBalance
from nuage.rating.rater import RatedCall
from nuage.services.billing.ports import PreparedRatedCalls
from nuage.shared.money import to_minor
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.billing.base import SqlBillingBase
from nuage.storage.sql.billing.codecs import chunks, rated_from_row
from nuage.storage.sql.billing.rated_texts import RatedCallTexts


class RatedCallWriter(Protocol):
    """RAT: how one dialect stores cost records in one transaction; it owns its memos and what
    it sets aside during a pass."""

    texts: RatedCallTexts  # the instants the store's reader read, for this writer's records

    def prepare(self, calls: Sequence[RatedCall], rated_at: datetime) -> object:
        """``calls`` in the form ``write`` sends (touches no connection: a job prepares a batch on
        a thread of its own while the last one is written)."""
        ...

    def write(self, calls: Sequence[RatedCall], rated_at: datetime, encoded: object) -> int:
        """Store ``calls`` (``encoded`` by ``prepare``, or None); an existing (cdr_id, run) is kept;
        return how many were new."""
        ...

    def stream(self, calls: Sequence[RatedCall], rated_at: datetime, encoded: object) -> None:
        """A pass's ``write``: ``calls`` stored by ``stored`` at the latest, in this transaction."""
        ...

    def stored(self) -> dict[str, int]:
        """The pass stored everything: end its stream and restore what it set aside, in the same
        transaction; return the new records it streamed, by run."""
        ...


class RatedCallStorage(SqlBillingBase):
    """RAT-1..3: pack balances per run and cost records."""

    def pack_balances(self, run: str, pack_ids: Iterable[str]) -> dict[str, PackBalance]:
        b = bt.pack_balances
        found: dict[str, PackBalance] = {}
        for chunk in chunks(sorted(set(pack_ids))):
            for row in self._connection.execute(select(b).where(b.c.run == run, b.c.pack_id.in_(chunk))):
                found[row.pack_id] = PackBalance(row.pack_id, row.used_seconds, row.used_amount_precise)
        return found

    def save_pack_balances(self, run: str, balances: Iterable[PackBalance], at: datetime) -> None:
        b = bt.pack_balances
        for balance in balances:
            values = {
                "used_seconds": balance.used_seconds,
                "used_amount_minor": to_minor(balance.used_amount),
                "used_amount_precise": balance.used_amount,
                "updated_at": at,
            }
            done = self._connection.execute(
                update(b).where(b.c.pack_id == balance.pack_id, b.c.run == run).values(**values)
            )
            if done.rowcount == 0:
                self._connection.execute(insert(b).values(pack_id=balance.pack_id, run=run, **values))

    def add_rated_calls(self, calls: Sequence[RatedCall], rated_at: datetime) -> int:
        """RAT: bulk insert; an existing (cdr_id, run) is kept, so rating twice stores once."""
        return self._writer.write(calls, rated_at, None)

    def prepare_rated_calls(self, calls: Sequence[RatedCall], rated_at: datetime) -> PreparedRatedCalls:
        """RAT: the records in the form this store's writer sends them (PostgreSQL: binary COPY rows
        in pieces; SQLite: the bound rows by run)."""
        return PreparedRatedCalls(calls, rated_at, self._writer.prepare(calls, rated_at) if calls else None)

    def add_prepared_rated_calls(self, prepared: PreparedRatedCalls) -> int:
        """RAT: ``add_rated_calls`` of what ``prepare_rated_calls`` made."""
        calls, rated_at, encoded = prepared
        return self._writer.write(calls, rated_at, encoded)

    def stream_rated_calls(self, prepared: PreparedRatedCalls) -> None:
        """RAT: a pass's ``add_prepared_rated_calls``: PostgreSQL keeps one COPY open over several
        batches; the records are stored by ``rating_stored`` at the latest."""
        calls, rated_at, encoded = prepared
        self._writer.stream(calls, rated_at, encoded)

    def rating_stored(self) -> dict[str, int]:
        """RAT: end the pass's stream and put back what it set aside (SQLite: the uninvoiced index),
        before the commit; the new records it streamed, by run."""
        return self._writer.stored()

    def rated_calls(self, cdr_ids: Sequence[str]) -> list[RatedCall]:
        r = bt.rated_calls
        found: list[RatedCall] = []
        for chunk in chunks(list(cdr_ids)):
            rows = self._connection.execute(
                select(r).where(r.c.cdr_id.in_(chunk)).order_by(r.c.started_at, r.c.cdr_id, r.c.run)
            )
            found.extend(rated_from_row(row) for row in rows)
        return found
