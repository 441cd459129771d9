"""The in-memory adapter of the billing port (``services.billing.ports.BillingStore``): tariffs and plans,
counts, imported CDRs, cost records and pack balances, contracts (invoices: ``storage.memory.invoices``).

It keeps the domain's own values in its unit of work's private tables, so billing rows commit or
roll back with the rest of a use case, and answers as ``storage.sql.billing.SqlBillingStore`` does
(the contract tests run both): the same orders, the same refusals (``Conflict`` where a unique
key or CNT-1 says no), exact amounts kept to 12 places, instants read back in UTC. A job's lock
is held until the transaction ends. Nothing here runs in another thread: ``overlaps_io`` is False.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from nuage.billing.plans import Audience, PriceList
from nuage.billing.runs import NumberHolding
from nuage.errors import Conflict
from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackBalance
from nuage.rating.rater import RatedCall
from nuage.rating.runs import RatingRun
from nuage.rating.tariffs import Tariff
from nuage.services.billing.ports import (
    ContractEvent,
    ContractState,
    PendingBatch,
    PreparedRatedCalls,
    RatingPassWriter,
    TrafficMark,
)
from nuage.shared.money import to_minor
from nuage.shared.month import Month
from nuage.storage.memory.invoices import INVOICE_TABLES, MemoryInvoices
from nuage.storage.memory.tables import Tables
from nuage.terms.counting import CountRecord, MonthlySummary

EXACT_PLACES = Decimal("1e-12")  # exact amounts are kept to 12 places, as the SQL store keeps them

BILLING_TABLES = (
    "tariffs",  # (run, version) -> (run, Tariff)
    "price_lists",  # (plan, audience value, version) -> PriceList
    "plan_assignments",  # party id -> plan id
    "count_records",  # id -> CountRecord
    "monthly_summaries",  # (account, "YYYY-MM") -> MonthlySummary
    "number_holdings",  # (account, number, taken_on) -> NumberHolding
    "cdrs",  # key -> StoredCdr
    "rated_calls",  # (cdr id, run) -> StoredCall
    "pack_balances",  # (pack, run) -> PackBalance
    "contracts",  # contract id -> ContractState
    "contract_events",  # sequence number -> ContractEvent
    *INVOICE_TABLES,
)


class StoredCdr(NamedTuple):
    """SIP-1: an imported CDR, answered or not."""

    cdr: Cdr
    answered: bool


class StoredCall(NamedTuple):
    """RAT/BIL-3: a cost record and the invoice that carries it, if any."""

    call: RatedCall
    rated_at: datetime
    invoice_id: str | None = None


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def _stored_call(call: RatedCall) -> RatedCall:
    """A cost record as storage keeps it: its start in UTC, its exact amount to 12 places."""
    return call._replace(
        started_at=_utc(call.started_at), exact_amount=call.exact_amount.quantize(EXACT_PLACES)
    )


class MemoryBillingStore(MemoryInvoices):
    """``BillingStore`` over the private tables of one in-memory unit of work."""

    def __init__(self, uow: Tables) -> None:
        super().__init__(uow)
        self._streamed: Counter[str] = Counter()  # new cost records a rating pass streamed, by run

    # jobs ----------------------------------------------------------------------------------------------
    def lock(self, job: str) -> None:
        """Serialise ``job`` over the units of work of the store until the transaction ends."""
        self._uow.hold(job)

    def refresh_statistics(self) -> None:
        """Nothing to plan in memory."""

    @property
    def overlaps_io(self) -> bool:
        """Memory works in this thread: a job gains nothing from a thread of its own."""
        return False

    def rating_pass_process(self, job: str, min_backlog: int) -> RatingPassWriter | None:
        """Memory lives in this process: no other process can write it."""
        return None

    # tariffs and price plans (RAT-2, BIL-2) ------------------------------------------------------------
    def has_tariff(self, run: str, version: str) -> bool:
        return (run, version) in self._table("tariffs")

    def add_tariff(self, run: str, tariff: Tariff, created_at: datetime) -> None:
        tariffs = self._table("tariffs")
        if (run, tariff.version) in tariffs:
            raise Conflict(f"tariff {tariff.version} of {run} already exists", field="version")
        rates = {prefix.lstrip("+"): price for prefix, price in tariff.per_minute_by_prefix.items()}
        terms = {prefix.lstrip("+"): value for prefix, value in tariff.terms_by_prefix.items()}
        valid_to = None if tariff.valid_to is None else _utc(tariff.valid_to)
        tariffs[(run, tariff.version)] = (
            len(tariffs),
            Tariff(tariff.version, _utc(tariff.valid_from), rates, valid_to=valid_to, terms_by_prefix=terms),
        )

    def tariffs(self, run: str) -> list[Tariff]:
        found = sorted(
            (tariff.valid_from, order, tariff)
            for (of_run, _), (order, tariff) in self._table("tariffs").items()
            if of_run == run
        )
        return [
            Tariff(
                t.version,
                t.valid_from,
                dict(t.per_minute_by_prefix),
                valid_to=t.valid_to,
                terms_by_prefix=dict(t.terms_by_prefix),
            )
            for _, _, t in found
        ]

    def close_tariff(self, run: str, version: str, valid_to: datetime) -> None:
        tariffs = self._table("tariffs")
        order, t = tariffs[(run, version)]
        tariffs[(run, version)] = (
            order,
            Tariff(
                t.version,
                t.valid_from,
                dict(t.per_minute_by_prefix),
                valid_to=_utc(valid_to),
                terms_by_prefix=dict(t.terms_by_prefix),
            ),
        )

    def has_price_list(self, plan_id: str, audience: Audience, version: str) -> bool:
        return (plan_id, audience.value, version) in self._table("price_lists")

    def add_price_list(self, plan_id: str, price_list: PriceList, created_at: datetime) -> None:
        key = (plan_id, price_list.audience.value, price_list.version)
        lists = self._table("price_lists")
        if key in lists:
            raise Conflict(f"price list {price_list.version} of {plan_id} already exists", field="version")
        lists[key] = copy.deepcopy(price_list)

    def price_lists(self, plan_id: str) -> list[PriceList]:
        found = [price_list for key, price_list in self._table("price_lists").items() if key[0] == plan_id]
        return [copy.deepcopy(price_list) for price_list in sorted(found, key=lambda p: p.valid_from)]

    def close_price_list(self, plan_id: str, audience: Audience, version: str, valid_to: date) -> None:
        lists = self._table("price_lists")
        key = (plan_id, audience.value, version)
        lists[key] = replace(lists[key], valid_to=valid_to)

    def plan_ids(self) -> list[str]:
        return sorted({key[0] for key in self._table("price_lists")})

    def assign_plan(self, party_id: str, plan_id: str, at: datetime) -> None:
        self._table("plan_assignments")[party_id] = plan_id

    def plan_assignments(self) -> dict[str, str]:
        return dict(self._table("plan_assignments"))

    # counting (CNT-1..3, BIL-11) -----------------------------------------------------------------------
    def add_count_records(self, records: Sequence[CountRecord]) -> None:
        table = self._table("count_records")
        for record in records:
            table[self._next_id("count_records")] = replace(record, counted_at=_utc(record.counted_at))

    def count_records(self, account_id: str, start_at: datetime, end_at: datetime) -> list[CountRecord]:
        found = sorted(
            (record.counted_at, key, record)
            for key, record in self._table("count_records").items()
            if record.account_id == account_id and start_at <= record.counted_at < end_at
        )
        return [record for _, _, record in found]

    def add_summary(self, summary: MonthlySummary) -> None:
        """CNT-1: insert only; a summary that exists is never replaced."""
        table = self._table("monthly_summaries")
        key = (summary.account_id, str(summary.month))
        if key in table or any(stored.hash == summary.hash for stored in table.values()):
            raise Conflict(
                f"CNT-1: the summary of {summary.month} for {summary.account_id} is already frozen",
                account_id=summary.account_id,
                month=str(summary.month),
            )
        items = tuple(sorted(summary.items, key=lambda item: item[0].value))
        table[key] = replace(summary, items=items, frozen_at=_utc(summary.frozen_at))

    def summary(self, account_id: str, month: Month) -> MonthlySummary | None:
        found: MonthlySummary | None = self._table("monthly_summaries").get((account_id, str(month)))
        return found

    def summaries(self, account_id: str) -> list[MonthlySummary]:
        table = self._table("monthly_summaries")
        return [table[key] for key in sorted(key for key in table if key[0] == account_id)]

    def summaries_of(self, account_ids: Sequence[str]) -> dict[str, list[MonthlySummary]]:
        return {account_id: self.summaries(account_id) for account_id in account_ids}

    def latest_summary(self, account_id: str) -> MonthlySummary | None:
        found = self.summaries(account_id)
        return found[-1] if found else None

    def latest_summaries(self, account_ids: Sequence[str], up_to: Month) -> dict[str, MonthlySummary]:
        wanted, bound = set(account_ids), str(up_to)
        found: dict[str, MonthlySummary] = {}
        for (account_id, month), summary in sorted(self._table("monthly_summaries").items()):
            if account_id in wanted and month <= bound:
                found[account_id] = summary
        return found

    def number_holdings(self, account_ids: Sequence[str]) -> dict[str, list[NumberHolding]]:
        wanted = set(account_ids)
        found: dict[str, list[NumberHolding]] = {}
        rows = sorted(self._table("number_holdings").items(), key=lambda item: item[1].taken_on)
        for (account_id, _, _), holding in rows:
            if account_id in wanted:
                found.setdefault(account_id, []).append(holding)
        return found

    def add_number_holding(self, account_id: str, holding: NumberHolding) -> None:
        table = self._table("number_holdings")
        key = (account_id, holding.number, holding.taken_on)
        if key in table:
            raise Conflict(f"number holding {holding.number} already exists", field="number")
        table[key] = NumberHolding(holding.number, holding.taken_on, None)

    def release_number_holding(self, account_id: str, holding: NumberHolding, released_on: date) -> None:
        table = self._table("number_holdings")
        key = (account_id, holding.number, holding.taken_on)
        if key in table:
            table[key] = replace(table[key], released_on=released_on)

    # CDRs (SIP-1) --------------------------------------------------------------------------------------
    def add_imported_cdrs(self, cdrs: Sequence[tuple[str, Cdr]], recorded_at: datetime) -> int:
        """SIP-1: store imported CDRs under their keys; keys already stored are skipped."""
        table = self._table("cdrs")
        existing = {key for key, _ in cdrs if key in table}
        added = 0
        for key, cdr in cdrs:
            if key in existing:
                continue
            added += 1
            if key not in table:
                stored = cdr._replace(started_at=_utc(cdr.started_at), emergency=bool(cdr.emergency))
                table[key] = StoredCdr(stored, cdr.billable_seconds > 0)
        return added

    def imported_cdrs(self, keys: Sequence[str]) -> dict[str, Cdr]:
        """SIP-1: the CDRs stored under those of ``keys`` that are stored, as the import wrote them."""
        table = self._table("cdrs")
        return {key: table[key].cdr for key in keys if key in table}

    # rating (RAT-1..3) ---------------------------------------------------------------------------------
    def pending_cdrs(
        self, batch_size: int, call_order: Collection[str], runs: Mapping[str, Collection[RatingRun]]
    ) -> Iterator[PendingBatch]:
        """RAT: every answered CDR some run has not rated, in batches, read from one snapshot.

        The accounts of ``call_order`` come last, each account's CDRs in call order (RAT-3); the
        others first, in the order they were stored.
        """
        rated = self._table("rated_calls")
        chosen = set(call_order)
        first: list[tuple[Cdr, bool, bool]] = []
        last: list[tuple[datetime, str, tuple[Cdr, bool, bool]]] = []
        for key, stored in self._table("cdrs").items():
            if not stored.answered:
                continue
            of = runs.get(stored.cdr.account_id, ())
            retail = RatingRun.CUSTOMER_RETAIL in of and (key, RatingRun.CUSTOMER_RETAIL.value) not in rated
            wholesale = (
                RatingRun.PARTNER_WHOLESALE in of and (key, RatingRun.PARTNER_WHOLESALE.value) not in rated
            )
            if not (retail or wholesale):
                continue
            cdr = stored.cdr._replace(cdr_id=key)
            if cdr.account_id in chosen:
                last.append((cdr.started_at, key, (cdr, retail, wholesale)))
            else:
                first.append((cdr, retail, wholesale))
        last.sort(key=lambda item: (item[0], item[1]))
        pending = [*first, *(entry for _, _, entry in last)]
        return self._batches(pending, batch_size)

    @staticmethod
    def _batches(pending: list[tuple[Cdr, bool, bool]], batch_size: int) -> Iterator[PendingBatch]:
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            yield PendingBatch(
                len(batch),
                [cdr for cdr, retail, _ in batch if retail],
                [cdr for cdr, _, wholesale in batch if wholesale],
            )

    def pack_balances(self, run: str, pack_ids: Iterable[str]) -> dict[str, PackBalance]:
        table = self._table("pack_balances")
        return {pack_id: table[(pack_id, run)] for pack_id in set(pack_ids) if (pack_id, run) in table}

    def save_pack_balances(self, run: str, balances: Iterable[PackBalance], at: datetime) -> None:
        table = self._table("pack_balances")
        for balance in balances:
            table[(balance.pack_id, run)] = balance

    def add_rated_calls(self, calls: Sequence[RatedCall], rated_at: datetime) -> int:
        """RAT: an existing (cdr_id, run) is kept, so rating twice stores once."""
        return sum(self._insert_rated(calls, rated_at).values())

    def _insert_rated(self, calls: Sequence[RatedCall], rated_at: datetime) -> Counter[str]:
        """The records not stored yet for their (cdr_id, run), stored; how many, by run."""
        table = self._table("rated_calls")
        added: Counter[str] = Counter()
        for call in calls:
            key = (call.cdr_id, call.run)
            if key not in table:
                table[key] = StoredCall(_stored_call(call), _utc(rated_at))
                added[call.run] += 1
        return added

    def prepare_rated_calls(self, calls: Sequence[RatedCall], rated_at: datetime) -> PreparedRatedCalls:
        """RAT: memory writes the records as they are; nothing to make ahead."""
        return PreparedRatedCalls(calls, rated_at, None)

    def add_prepared_rated_calls(self, prepared: PreparedRatedCalls) -> int:
        return self.add_rated_calls(prepared.calls, prepared.rated_at)

    def stream_rated_calls(self, prepared: PreparedRatedCalls) -> None:
        self._streamed.update(self._insert_rated(prepared.calls, prepared.rated_at))

    def rating_stored(self) -> dict[str, int]:
        """RAT: nothing was set aside; the new records streamed, by run."""
        streamed, self._streamed = dict(self._streamed), Counter()
        return streamed

    def rated_calls(self, cdr_ids: Sequence[str]) -> list[RatedCall]:
        wanted = set(cdr_ids)
        found = [
            stored.call for (cdr_id, _), stored in self._table("rated_calls").items() if cdr_id in wanted
        ]
        return sorted(found, key=lambda call: (call.started_at, call.cdr_id, call.run))

    def _uninvoiced(self, run: str, customer_id: str, before: datetime) -> list[tuple[Any, StoredCall]]:
        return [
            (key, stored)
            for key, stored in self._table("rated_calls").items()
            if stored.call.run == run
            and stored.call.account_id == customer_id
            and stored.invoice_id is None
            and stored.call.itemised
            and to_minor(stored.call.amount) > 0
            and stored.call.started_at < before
        ]

    def uninvoiced_calls(
        self, customer_runs: Mapping[str, str], before: datetime
    ) -> dict[str, list[RatedCall]]:
        """BIL-3: priced, itemised calls not invoiced yet, of each customer in its run, before ``before``."""
        found: dict[str, list[RatedCall]] = {}
        for customer_id in sorted(customer_runs):
            calls = [
                stored.call for _, stored in self._uninvoiced(customer_runs[customer_id], customer_id, before)
            ]
            if calls:
                found[customer_id] = sorted(calls, key=lambda call: (call.started_at, call.cdr_id))
        return found

    def mark_traffic_invoiced(self, marks: Sequence[TrafficMark], before: datetime) -> None:
        """BIL-3: set the invoice of each customer's uninvoiced calls; a count that differs from the
        calls the line cites raises ``Conflict``."""
        table = self._table("rated_calls")
        for mark in marks:
            found = self._uninvoiced(mark.run, mark.customer_id, before)
            for key, stored in found:
                table[key] = stored._replace(invoice_id=mark.invoice_id)
            if len(found) != mark.calls:
                raise Conflict(
                    "BIL-3: the calls of a customer changed while it was invoiced; run again",
                    customer_id=mark.customer_id,
                    expected=mark.calls,
                )

    # contracts (CTR-1..4) ------------------------------------------------------------------------------
    def contracts(self) -> list[ContractState]:
        return sorted(
            self._table("contracts").values(),
            key=lambda s: (s.contract.contracting_party_id, s.contract.customer_id),
        )

    def contract_for(self, customer_id: str) -> ContractState | None:
        for state in self._table("contracts").values():
            if state.contract.customer_id == customer_id:
                found: ContractState = state
                return found
        return None

    def add_contract(self, state: ContractState, created_at: datetime) -> None:
        table = self._table("contracts")
        contract = state.contract
        if contract.contract_id in table or self.contract_for(contract.customer_id) is not None:
            raise Conflict(f"contract of {contract.customer_id} already exists", field="customer_id")
        table[contract.contract_id] = state

    def save_contract(self, state: ContractState) -> None:
        table = self._table("contracts")
        if state.contract.contract_id in table:
            table[state.contract.contract_id] = state

    def save_contracts(self, states: Sequence[ContractState]) -> None:
        for state in states:
            self.save_contract(state)

    def add_contract_event(self, event: ContractEvent) -> None:
        table = self._table("contract_events")
        table[len(table)] = replace(event, detail=event.detail[:500])

    def contract_events(self, customer_id: str) -> list[ContractEvent]:
        table = self._table("contract_events")
        return [table[key] for key in sorted(table) if table[key].customer_id == customer_id]
