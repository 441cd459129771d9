"""The stored text of cost-record values (RAT), memoised per writer: instants as the database gave
them and money in its stored forms.

A rating pass formats millions of instants and a few thousand distinct prices; formatting costs
ten times a look-up. Each ``RatedCallTexts`` belongs to one store (one transaction's writer):
the store's pending-CDR reader remembers the text of each instant it read, and the same store's
writer takes it back when it encodes the cost record; money texts are kept for the pass. The
memos are bounded; nothing is kept at module level.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from nuage.storage.sql.billing.codecs import EXACT_PLACES

INSTANTS_KEPT = 200_000
"""Bound of the instants a pass leaves behind (CDRs it read and could not price)."""
_MONEY_TEXTS_KEPT = 100_000


class RatedCallTexts:
    """Memos of pure formatting for the cost records of one store's rating pass."""

    def __init__(self) -> None:
        self.instants: dict[datetime, str] = {}
        """``codecs.utc_text`` of the instants read and not written back yet, as the database gave
        them. The write that uses an entry takes it out, so the memo holds about the batches in
        flight. SQLite's writer stores that text; PostgreSQL's sends instants in binary, and its
        reader leaves this memo empty."""
        self.money: dict[tuple[Decimal, Decimal], tuple[str, int, str]] = {}
        """Stored forms of a cost record's (exact amount, amount). Both keys are written in a fixed
        number of places, so equal values always have the same stored text."""

    def money_texts(self, exact: Decimal, amount: Decimal) -> tuple[str, int, str]:
        """(exact amount to 12 places, amount in cents, amount) as ``rated_calls`` stores them."""
        if len(self.money) >= _MONEY_TEXTS_KEPT:
            self.money.clear()
        texts = self.money[(exact, amount)] = (
            str(exact.quantize(EXACT_PLACES)),
            int(amount * 100),
            str(amount),
        )
        return texts
