"""Rating (RAT-1..3, TEN-5): every pending CDR priced in each rating run, streamed in batches.

One pass is one transaction under the billing job's lock. The pipeline (reading ahead, writing
behind in order) is ``services.jobs``; this module owns what is read, priced and written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from nuage.directory.model import TrafficPack as DirectoryPack
from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackBalance, PackKind, TrafficPack
from nuage.rating.rater import rate_calls
from nuage.rating.runs import RatingRun, runs_for_account
from nuage.rating.tariffs import TariffBook
from nuage.services.billing.common import BILLING_JOB, require_operator
from nuage.services.billing.ports import (
    BillingStore,
    BillingUnitOfWork,
    BillingUnitOfWorkFactory,
    PreparedRatedCalls,
    RatingPassWriter,
)
from nuage.services.context import Context
from nuage.services.jobs import OrderedWriter, read_ahead
from nuage.shared.clock import business_midnight


@dataclass
class RatingReport:
    """RAT: how many cost records each run stored, and the CDRs that could not be priced."""

    stored: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (cdr id, run, reason)
    failure_count: int = 0
    batches: int = 0
    cdrs_seen: int = 0

    _FAILURES_KEPT = 100


def _rating_packs(packs: Iterable[DirectoryPack]) -> dict[str, list[TrafficPack]]:
    """CFG-11/RAT-3: the directory's packs as the rater's (minutes or amount, valid from/to)."""
    by_account: dict[str, list[TrafficPack]] = {}
    for pack in packs:
        if pack.minutes is not None:
            kind, size = PackKind.MINUTES, Decimal(pack.minutes * pack.quantity)
        elif pack.amount is not None:
            kind, size = PackKind.AMOUNT, pack.amount * pack.quantity
        else:
            continue  # a pack that only fixes channels (CAP-2) holds no traffic
        valid_to = (
            None if pack.valid_until is None else business_midnight(pack.valid_until + timedelta(days=1))
        )
        by_account.setdefault(pack.account_id, []).append(
            TrafficPack(
                pack.id,
                pack.account_id,
                f"{pack.id}@{pack.created_at.isoformat()}",
                kind,
                size,
                business_midnight(pack.valid_from),
                valid_to,
            )
        )
    return by_account


# CDRs a pass looks to have before its writes get a process of their own: below about 300,000 the
# process's start costs more than it saves (docs/benchmarks/sqlite-rating-process.md)
PASS_PROCESS_FROM = 400_000


def rate_pending(
    factory: BillingUnitOfWorkFactory,
    ctx: Context,
    *,
    batch_size: int = 20000,
    process_from: int = PASS_PROCESS_FROM,
) -> RatingReport:
    """RAT-1..3/TEN-5: rate every pending CDR in both runs, in batches of ``batch_size`` CDRs.

    One pass is one transaction under the job lock: the pending CDRs are read from a snapshot
    taken once the lock is held, so two passes never price the same call or draw the same
    pack twice, and a pass that fails stores nothing (rating again is idempotent). Accounts
    with traffic packs are read last, in call order (RAT-3: packs are drawn in call order);
    memory holds a few batches, whatever the number of CDRs. Where the store offers it (SQLite,
    about ``process_from`` CDRs or more to rate), the pass's transaction is in a process of its
    own, which stores a batch while this one prices the next.
    """
    require_operator(ctx)
    report = RatingReport()
    with factory() as uow:
        process = uow.billing.rating_pass_process(BILLING_JOB, process_from)  # it starts meanwhile
    writes: RatingPassWriter | None = process
    try:
        with factory() as uow:
            uow.billing.refresh_statistics()
            uow.commit()
        with factory() as uow:
            books = {run: uow.billing.tariffs(run.value) for run in RatingRun}
            packs = _rating_packs(uow.packs.list())
            threaded = uow.billing.overlaps_io
        tariff_books = {run: TariffBook(versions) for run, versions in books.items() if versions}
        writes = writes or _UnitOfWorkPass(factory, threaded)
        writes.begin()  # the lock, before the snapshot below is taken
        stored: list[Future[None]] = []
        with factory() as reader:
            runs = {  # TEN-5: which runs price each account's calls, read once the lock is held
                party.id: runs_for_account(served_by_partner=party.partner_id is not None)
                for party in reader.parties.list()
            }
            pending_batches = reader.billing.pending_cdrs(batch_size, packs.keys(), runs)
            with closing(read_ahead(pending_batches, threaded)) as batches:
                for pending in batches:
                    report.batches += 1
                    report.cdrs_seen += pending.size
                    now = ctx.clock.now()
                    for run in RatingRun:
                        cdrs = pending.of(run)
                        if cdrs:
                            book = tariff_books.get(run)
                            _rate_run(writes, reader.billing, run, book, packs, cdrs, now, report, stored)
                    _count_stored(stored, wait=False)
        _count_stored(stored, wait=True)
        # stores what the stream still holds, counts the pass's records, commits
        report.stored = {run: count for run, count in writes.commit().items() if count}
    finally:
        if writes is not None:
            writes.close()  # after a failure: rolled back
    return report


class _UnitOfWorkPass:
    """``RatingPassWriter`` over a unit of work of this process: the writes in order, on a thread
    of their own when the database works outside this process (``OrderedWriter``)."""

    def __init__(self, factory: BillingUnitOfWorkFactory, threaded: bool) -> None:
        self._factory = factory
        self._stored: dict[str, int] = {}
        self._io = OrderedWriter(self._open, self._end, threaded=threaded, name="nuage-rating-io")
        self._committed = False

    def _open(self, scope: ExitStack) -> BillingUnitOfWork:
        """RAT: the pass's writing transaction, which takes the job's lock first."""
        uow = scope.enter_context(self._factory())
        uow.billing.lock(BILLING_JOB)
        return uow

    def _end(self, uow: BillingUnitOfWork) -> None:
        """RAT: the pass streamed all its cost records: the store stores what it still holds and
        restores its shape, then one commit."""
        self._stored = uow.billing.rating_stored()
        uow.commit()

    def begin(self) -> None:
        self._io.run(lambda uow: None).result()

    def pack_balances(self, run: str, pack_ids: Sequence[str]) -> dict[str, PackBalance]:
        return self._io.run(lambda uow: uow.billing.pack_balances(run, pack_ids)).result()

    def stream(self, prepared: PreparedRatedCalls) -> Future[None]:
        return self._io.run(lambda uow: uow.billing.stream_rated_calls(prepared))

    def save_pack_balances(self, run: str, balances: Sequence[PackBalance], at: datetime) -> None:
        self._io.run(lambda uow: uow.billing.save_pack_balances(run, balances, at))

    def commit(self) -> dict[str, int]:
        self._io.close(commit=True)
        self._committed = True
        return self._stored

    def close(self) -> None:
        if not self._committed:
            self._io.close(commit=False)


def _count_stored(stored: list[Future[None]], *, wait: bool, in_flight: int = 4) -> None:
    """RAT: forget the writes done so far (raising a storage error, if any).

    Waits while more than ``in_flight`` writes are queued, so that reading never runs ahead of
    storing by more than a few batches (memory stays flat whatever the number of CDRs)."""
    while stored and (wait or len(stored) > in_flight or stored[0].done()):
        stored.pop(0).result()


def _rate_run(
    writes: RatingPassWriter,
    encoder: BillingStore,
    run: RatingRun,
    book: TariffBook | None,
    packs: Mapping[str, list[TrafficPack]],
    cdrs: list[Cdr],
    now: datetime,
    report: RatingReport,
    stored: list[Future[None]],
) -> None:
    if book is None:
        report.failure_count += len(cdrs)
        for cdr in cdrs[: max(0, RatingReport._FAILURES_KEPT - len(report.failures))]:
            report.failures.append((cdr.cdr_id, run.value, "no tariff for this run"))
        return
    run_packs = (
        [pack for account in {cdr.account_id for cdr in cdrs} for pack in packs.get(account, ())]
        if packs  # no account has a pack: no need to collect this batch's accounts
        else []
    )
    balances: dict[str, PackBalance] = {}
    if run_packs:
        # RAT-3: the balances as the previous pages left them (the writer keeps the order)
        pack_ids = [pack.pack_id for pack in run_packs]
        balances = writes.pack_balances(run.value, pack_ids)
    outcome = rate_calls(cdrs, book, run=run.value, packs=run_packs, balances=balances)
    # made here, while the writer stores the previous batch: it then only sends what is ready
    prepared = encoder.prepare_rated_calls(outcome.rated, now)
    stored.append(writes.stream(prepared))
    changed = [
        balance
        for pack_id, balance in outcome.balances.items()
        if balances.get(pack_id, PackBalance(pack_id)) != balance
    ]
    if changed:
        writes.save_pack_balances(run.value, changed, now)
    report.failure_count += len(outcome.failures)
    for failure in outcome.failures[: max(0, RatingReport._FAILURES_KEPT - len(report.failures))]:
        report.failures.append((failure.cdr_id, run.value, str(failure.error)))
