"""SQL adapter of the billing port (``services.billing.ports.BillingStore``).

Bound to the unit of work's connection, so billing rows commit with the rest of a use
case. Hot paths (rating) stream and write in bulk: one scan of ``cdrs`` read batch by batch
(a server-side cursor on PostgreSQL) and, on PostgreSQL, ``COPY`` straight into
``rated_calls`` (through a staging table and ``INSERT ... ON CONFLICT DO NOTHING`` when a
record is already there); on SQLite an ``executemany`` of ``INSERT OR IGNORE``. Invoice
numbers are allocated under a row lock (``SELECT ... FOR UPDATE``) in the issuing
transaction (BIL-4: gapless). There is no UPDATE path for monthly summaries, invoices or invoice lines; the
migration's triggers refuse one as well.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from operator import itemgetter
from typing import Any, TypeVar

from psycopg import errors as psycopg_errors
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex

from nuage.billing.charge_models import ChargeModelKind, ChargeSpec, Tier
from nuage.billing.invoices import DocumentType, InvoiceDraft, IssuedInvoice
from nuage.billing.lines import InvoiceLine, SourceRef
from nuage.billing.plans import Audience, OneTimeKind, PriceList
from nuage.billing.runs import NumberHolding
from nuage.billing.vat import LineVat, VatCategory, VatRegime, VatTreatment
from nuage.errors import Conflict
from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackBalance
from nuage.rating.rater import RatedCall
from nuage.rating.runs import RatingRun
from nuage.rating.tariffs import Tariff
from nuage.services.billing.ports import (
    ContractState,
    InvoiceHeader,
    PendingBatch,
    PreparedRatedCalls,
    StoredInvoice,
    TrafficMark,
)
from nuage.shared.ids import new_id
from nuage.shared.money import from_minor, to_minor
from nuage.shared.month import Month
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.tables import cdrs
from nuage.terms.contract import Contract, Termination
from nuage.terms.counting import CountRecord, ItemKind, MonthlySummary

T = TypeVar("T")
_CHUNK = 2000  # ids per IN (...) list
_COPY_CHUNK = 2000  # PostgreSQL: cost records per piece of a COPY
_EXACT_PLACES = Decimal("1e-12")  # exact amounts are kept to 12 places on both databases
_SQLITE_JOB_CACHE_KIB = 65536
_SQLITE_SORT_CACHE_KIB = 2048  # SQLite: the page cache while an index is built (its sorter's run size)
_BULK_ROWS = 40_000  # SQLite: cost records a pass stores before it may set the uninvoiced index aside
_BY_ACCOUNT = itemgetter(1)
_UNINVOICED_INDEX = next(i for i in bt.rated_calls.indexes if i.name == "ix_rated_calls_uninvoiced")
_RECURRING_RULES = ("BIL-2", "BIL-11", "CNT-3")
_RETAIL = RatingRun.CUSTOMER_RETAIL.value
_WHOLESALE = RatingRun.PARTNER_WHOLESALE.value
_RATED_COLUMNS = [column.name for column in bt.rated_calls.columns]
_UNINVOICED_COLUMNS = (
    "cdr_id, account_id, started_at, destination, prefix, tariff_version, billable_seconds, "
    "pack_seconds, charged_seconds, per_minute, exact_amount, amount_precise, pack_ids, emergency, itemised"
)


# SQLite: a statement binds each value of each row, at a cost per value. The values every record
# of a rating pass shares (its run, its time, no invoice yet) are written by the statement; so are
# those of a plain call (no pack, not an emergency: itemised), most of a month's calls.
_SQLITE_PASS_COLUMNS = ("run", "rated_at", "invoice_id")
_SQLITE_PLAIN = {"pack_seconds": "0", "pack_ids": "''", "emergency": "0", "itemised": "1"}  # SQL literals
_SQLITE_BOUND_COLUMNS = [c for c in _RATED_COLUMNS if c not in _SQLITE_PASS_COLUMNS]
_SQLITE_PLAIN_BOUND = [c for c in _SQLITE_BOUND_COLUMNS if c not in _SQLITE_PLAIN]


def _sqlite_insert_rated(run: RatingRun, at: str, *, plain: bool) -> str:
    """``INSERT OR IGNORE`` of cost records of ``run`` rated at ``at`` (``_utc_text`` text):
    both come from this module (an enum value, a formatted instant), never from input."""
    bound = _SQLITE_PLAIN_BOUND if plain else _SQLITE_BOUND_COLUMNS
    constants = {"run": f"'{run.value}'", "rated_at": f"'{at}'", "invoice_id": "NULL"}
    if plain:
        constants.update(_SQLITE_PLAIN)
    written = [*bound, *constants]
    values = [*("?" for _ in bound), *constants.values()]
    return f"INSERT OR IGNORE INTO rated_calls ({', '.join(written)}) VALUES ({', '.join(values)})"


_COPY_SPECIAL = frozenset("\\\t\n\r")


def _copy_field(value: str) -> str:
    """A text field of PostgreSQL's COPY text format, escaped when it needs to be."""
    if _COPY_SPECIAL.isdisjoint(value):
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_text(calls: Sequence[RatedCall], rated_at: datetime) -> str:
    """Cost records as COPY text rows (columns in ``_RATED_COLUMNS`` order), built in one pass.

    Fields are written as they are, then the text is checked with a few ``str.count``: if no field
    held a tab, newline, carriage return or backslash, it is exact; otherwise it is built again
    from escaped fields (ids and destinations never hold one in practice).
    """
    at = rated_at.astimezone(UTC).isoformat()
    text = _copy_rows(calls, at)
    rows = len(calls)
    if (
        text.count("\t") == (len(_RATED_COLUMNS) - 1) * rows
        and text.count("\n") == rows
        and text.count("\\") == rows  # the \N of invoice_id, once per row
        and "\r" not in text
    ):
        return text
    escaped = [
        c._replace(
            cdr_id=_copy_field(c.cdr_id), run=_copy_field(c.run), account_id=_copy_field(c.account_id),
            destination=_copy_field(c.destination), prefix=_copy_field(c.prefix),
            tariff_version=_copy_field(c.tariff_version), pack_ids=tuple(_copy_field(p) for p in c.pack_ids),
        )
        for c in calls
    ]  # fmt: skip
    return _copy_rows(escaped, at)


def _copy_pieces(calls: Sequence[RatedCall], rated_at: datetime) -> Iterator[str]:
    """The COPY text of ``calls``, ``_COPY_CHUNK`` records a piece."""
    for chunk in _chunks(calls, _COPY_CHUNK):
        yield _copy_text(chunk, rated_at)


def _copy_rows(calls: Sequence[RatedCall], at: str) -> str:
    """COPY text rows; instants in UTC (``_utc_text`` and an offset), money texts from a memo."""
    instants = _INSTANT_TEXTS
    prices = _COPY_PRICES
    plain_tail = f"\t\tf\tt\t{at}\t\\N\n"  # no pack, not an emergency, itemised: most calls
    lines: list[str] = []
    add = lines.append
    for (cdr_id, account_id, run, started, destination, prefix, version, billable, pack_seconds,
         charged, per_minute, exact, amount, pack_ids, emergency, itemised) in calls:  # fmt: skip
        price = prices.get((per_minute, exact, amount)) or _copy_price(per_minute, exact, amount)
        started_text = instants.pop(started, None) or _utc_text(started)
        if pack_seconds or pack_ids or emergency or not itemised:
            flags = f"{'t' if emergency else 'f'}\t{'t' if itemised else 'f'}"
            tail = f"\t{' '.join(pack_ids)}\t{flags}\t{at}\t\\N\n"
        else:
            tail = plain_tail
        add(
            f"{cdr_id}\t{run}\t{account_id}\t{started_text}+00\t{destination}\t{prefix}\t{version}\t"
            f"{billable}\t{pack_seconds}\t{charged}\t{price}{tail}"
        )
    return "".join(lines)


_COPY_PRICES: dict[tuple[Decimal, Decimal, Decimal], str] = {}
"""COPY text of a cost record's (per minute, exact amount, amount) columns, tab-separated: a memo of
pure formatting like ``_MONEY_TEXTS``, bounded by ``_MONEY_TEXTS_KEPT``."""


def _copy_price(per_minute: Decimal, exact: Decimal, amount: Decimal) -> str:
    if len(_COPY_PRICES) >= _MONEY_TEXTS_KEPT:
        _COPY_PRICES.clear()
    exact_text, minor, amount_text = _money_texts(exact, amount)
    text = _COPY_PRICES[(per_minute, exact, amount)] = f"{per_minute}\t{exact_text}\t{minor}\t{amount_text}"
    return text


_MONEY_TEXTS: dict[tuple[Decimal, Decimal], tuple[str, int, str]] = {}
"""Stored forms of a cost record's (exact amount, amount): a memo of pure formatting (the rater
hands out a few thousand distinct prices per rate), bounded by ``_MONEY_TEXTS_KEPT``. Both keys
are written in a fixed number of places, so equal values always have the same stored text."""
_MONEY_TEXTS_KEPT = 100_000


def _money_texts(exact: Decimal, amount: Decimal) -> tuple[str, int, str]:
    """(exact amount to 12 places, amount in cents, amount) as ``rated_calls`` stores them."""
    if len(_MONEY_TEXTS) >= _MONEY_TEXTS_KEPT:
        _MONEY_TEXTS.clear()
    texts = _MONEY_TEXTS[(exact, amount)] = (
        str(exact.quantize(_EXACT_PLACES)),
        int(amount * 100),
        str(amount),
    )
    return texts


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _month(text_value: str | None) -> Month | None:
    return None if text_value is None else Month.parse(text_value)


_INSTANT_TEXTS: dict[datetime, str] = {}
"""``_utc_text`` of the instants the rating job has read and not written back yet, as the database
gave them (formatting costs ten times a look-up). The write that uses an entry takes it out, so the
memo holds about the batches in flight; ``_INSTANT_TEXTS_KEPT`` bounds what a pass leaves behind
(CDRs it could not price). Pure formatting, shared by both databases: SQLite stores that text,
PostgreSQL reads it with a ``+00`` offset."""
_INSTANT_TEXTS_KEPT = 200_000


def _utc_text(at: datetime) -> str:
    """Naive UTC text with microseconds: what SQLAlchemy's SQLite DateTime stores for ``UtcDateTime``,
    and what PostgreSQL prints for a ``timestamp`` with microseconds."""
    utc = at if at.tzinfo is UTC else at.astimezone(UTC)
    return utc.isoformat(" ", "microseconds")[:26]


# --- codecs ---------------------------------------------------------------------------------------------


def _spec_to_json(spec: ChargeSpec) -> dict[str, Any]:
    return {
        "model": spec.model.value,
        "unit_price": str(spec.unit_price),
        "tiers": [
            [None if tier.up_to is None else str(tier.up_to), str(tier.unit_price), str(tier.flat_fee)]
            for tier in spec.tiers
        ],
    }


def _spec_from_json(data: Mapping[str, Any]) -> ChargeSpec:
    tiers = tuple(
        Tier(None if up_to is None else Decimal(up_to), Decimal(price), Decimal(flat))
        for up_to, price, flat in data.get("tiers", [])
    )
    return ChargeSpec(ChargeModelKind(data["model"]), Decimal(data["unit_price"]), tiers)


def _price_list_from_row(row: Row[Any]) -> PriceList:
    m = row._mapping
    return PriceList(
        version=m["version"],
        audience=Audience(m["audience"]),
        valid_from=m["valid_from"],
        valid_to=m["valid_to"],
        recurring={ItemKind(kind): _spec_from_json(spec) for kind, spec in m["recurring"].items()},
        one_time={OneTimeKind(kind): Decimal(price) for kind, price in m["one_time"].items()},
        capacity_reading=m["capacity_reading"],
        run_day=m["run_day"],
    )


def _summary_from_row(row: Row[Any]) -> MonthlySummary:
    m = row._mapping
    items = tuple(
        sorted(((ItemKind(k), Decimal(v)) for k, v in m["items"].items()), key=lambda i: i[0].value)
    )
    return MonthlySummary(
        m["account_id"], Month.parse(m["month"]), items, m["frozen_at"], m["previous_hash"], m["hash"]
    )


def _rated_from_row(row: Row[Any]) -> RatedCall:
    m = row._mapping
    pack_ids = tuple(m["pack_ids"].split()) if m["pack_ids"] else ()
    return RatedCall(
        m["cdr_id"], m["account_id"], m["run"], m["started_at"], m["destination"], m["prefix"],
        m["tariff_version"], m["billable_seconds"], m["pack_seconds"], m["charged_seconds"],
        m["per_minute"], m["exact_amount"], m["amount_precise"], pack_ids, m["emergency"], m["itemised"],
    )  # fmt: skip


def _contract_from_row(row: Row[Any]) -> ContractState:
    m = row._mapping
    termination = None
    if m["termination_effective_on"] is not None:
        termination = Termination(m["termination_received_on"], m["termination_effective_on"])
    contract = Contract(
        contract_id=m["id"],
        customer_id=m["customer_id"],
        contracting_party_id=m["contracting_party_id"],
        start_on=m["start_on"],
        minimum_term_months=m["minimum_term_months"],
        termination=termination,
        bankruptcy_proof_on=m["bankruptcy_proof_on"],
    )
    return ContractState(contract, m["order_id"], _month(m["recurring_billed_through"]))


def _contract_row(state: ContractState) -> dict[str, Any]:
    contract = state.contract
    termination = contract.termination
    return {
        "id": contract.contract_id,
        "customer_id": contract.customer_id,
        "contracting_party_id": contract.contracting_party_id,
        "order_id": state.order_id,
        "start_on": contract.start_on,
        "minimum_term_months": contract.minimum_term_months,
        "termination_received_on": None if termination is None else termination.received_on,
        "termination_effective_on": None if termination is None else termination.effective_on,
        "bankruptcy_proof_on": contract.bankruptcy_proof_on,
        "recurring_billed_through": None
        if state.recurring_billed_through is None
        else str(state.recurring_billed_through),
    }


def _line_row(invoice_id: str, position: int, line: InvoiceLine) -> dict[str, Any]:
    proration = line.proration
    return {
        "invoice_id": invoice_id,
        "position": position,
        "rule_id": line.rule_id,
        "description_key": line.description_key,
        "description_params": [list(pair) for pair in line.description_params],
        "customer_id": line.customer_id,
        "item_kind": line.item_kind,
        "period": None if line.period is None else str(line.period),
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "amount_minor": to_minor(line.amount),
        "amount_precise": line.amount,
        "proration": None if proration is None else f"{proration.numerator}/{proration.denominator}",
        "sources": list(line.sources),  # BIL-10: each SourceRef is stored as [kind, key]
        "vat_category": None if line.vat is None else line.vat.category.value,
        "vat_rate": None if line.vat is None else line.vat.rate,
        "vat_exemption_code": None if line.vat is None else line.vat.exemption_code,
        "vat_exemption_key": None if line.vat is None else line.vat.exemption_key,
    }


def _line_from_row(row: Row[Any]) -> InvoiceLine:
    m = row._mapping
    proration = None
    if m["proration"]:
        numerator, denominator = m["proration"].split("/")
        proration = Fraction(int(numerator), int(denominator))
    return InvoiceLine(
        rule_id=m["rule_id"],
        description_key=m["description_key"],
        customer_id=m["customer_id"],
        item_kind=m["item_kind"],
        period=_month(m["period"]),
        quantity=m["quantity"],
        unit_price=m["unit_price"],
        amount=m["amount_precise"],
        sources=tuple(SourceRef._make(pair) for pair in m["sources"]),
        proration=proration,
        description_params=tuple((key, value) for key, value in m["description_params"]),
        vat=None
        if m["vat_category"] is None
        else LineVat(
            VatCategory(m["vat_category"]), m["vat_rate"], m["vat_exemption_code"], m["vat_exemption_key"]
        ),
    )


# --- the store ------------------------------------------------------------------------------------------


class SqlBillingStore:
    """``BillingStore`` over one SQLAlchemy connection (the unit of work's transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name
        self._rated_stored = 0  # cost records given to this store (its transaction) to store
        self._rated_inserted = 0  # of those, the ones that were new
        self._uninvoiced_before: int | None = None  # entries of the uninvoiced index before this pass
        self._uninvoiced_set_aside = False
        # SQLite: where the calls ``uninvoiced_calls`` read are stored, by (run, account, before)
        self._uninvoiced_rows: dict[tuple[str, str, str], list[int]] = {}

    def _insert_ignore(self, table: Any) -> Any:
        module = postgresql if self._dialect == "postgresql" else sqlite
        return module.insert(table).on_conflict_do_nothing()

    # jobs ----------------------------------------------------------------------------------------------
    def lock(self, job: str) -> None:
        """Serialise ``job`` across processes until the transaction ends."""
        if self._dialect == "postgresql":
            self._connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:job))"), {"job": job})
        else:
            # SQLite: take the database write lock now (one writer at a time). Jobs write in bulk
            # into indexes larger than the default 2 MB page cache; give this connection 64 MB
            # (a bound that does not depend on the number of CDRs).
            self._connection.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_JOB_CACHE_KIB}")
            self._connection.execute(update(bt.invoice_counters).where(literal(False)).values(year=0))

    @property
    def overlaps_io(self) -> bool:
        """PostgreSQL works in its server; SQLite's library takes the interpreter lock for each row."""
        return self._dialect == "postgresql"

    def refresh_statistics(self) -> None:
        """Let the planner see bulk-loaded CDRs and rated calls (PostgreSQL ``ANALYZE``)."""
        if self._dialect == "postgresql":
            self._connection.execute(text("ANALYZE cdrs, rated_calls, parties"))
        else:
            # Sampled: about 1,000 rows per index are enough to choose plans; a full ANALYZE reads
            # every row of both tables, 0.4 s of a rating pass at a million CDRs.
            self._connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
            self._connection.exec_driver_sql("ANALYZE cdrs")
            self._connection.exec_driver_sql("ANALYZE rated_calls")

    # tariffs and plans ---------------------------------------------------------------------------------
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
                recurring={kind.value: _spec_to_json(spec) for kind, spec in price_list.recurring.items()},
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
        return [_price_list_from_row(row) for row in rows]

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

    # counting ------------------------------------------------------------------------------------------
    def add_count_records(self, records: Sequence[CountRecord]) -> None:
        if records:
            self._connection.execute(
                insert(bt.count_records),
                [
                    {
                        "account_id": r.account_id,
                        "counted_at": r.counted_at,
                        "kind": r.kind.value,
                        "quantity": r.quantity,
                    }
                    for r in records
                ],
            )

    def count_records(self, account_id: str, start_at: datetime, end_at: datetime) -> list[CountRecord]:
        c = bt.count_records
        rows = self._connection.execute(
            select(c)
            .where(c.c.account_id == account_id, c.c.counted_at >= start_at, c.c.counted_at < end_at)
            .order_by(c.c.counted_at, c.c.id)
        ).all()
        return [CountRecord(row.account_id, row.counted_at, ItemKind(row.kind), row.quantity) for row in rows]

    def add_summary(self, summary: MonthlySummary) -> None:
        """CNT-1: insert only; a summary that exists is never replaced."""
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(bt.monthly_summaries).values(
                        account_id=summary.account_id,
                        month=str(summary.month),
                        items={kind.value: str(quantity) for kind, quantity in summary.items},
                        frozen_at=summary.frozen_at,
                        previous_hash=summary.previous_hash,
                        hash=summary.hash,
                    )
                )
        except IntegrityError as error:
            raise Conflict(
                f"CNT-1: the summary of {summary.month} for {summary.account_id} is already frozen",
                account_id=summary.account_id,
                month=str(summary.month),
            ) from error

    def summary(self, account_id: str, month: Month) -> MonthlySummary | None:
        s = bt.monthly_summaries
        row = self._connection.execute(
            select(s).where(s.c.account_id == account_id, s.c.month == str(month))
        ).first()
        return None if row is None else _summary_from_row(row)

    def latest_summary(self, account_id: str) -> MonthlySummary | None:
        s = bt.monthly_summaries
        row = self._connection.execute(
            select(s).where(s.c.account_id == account_id).order_by(s.c.month.desc()).limit(1)
        ).first()
        return None if row is None else _summary_from_row(row)

    def summaries(self, account_id: str) -> list[MonthlySummary]:
        s = bt.monthly_summaries
        rows = self._connection.execute(
            select(s).where(s.c.account_id == account_id).order_by(s.c.month)
        ).all()
        return [_summary_from_row(row) for row in rows]

    def latest_summaries(self, account_ids: Sequence[str], up_to: Month) -> dict[str, MonthlySummary]:
        s = bt.monthly_summaries
        found: dict[str, MonthlySummary] = {}
        for chunk in _chunks(list(account_ids)):
            latest = (
                select(s.c.account_id, func.max(s.c.month).label("month"))
                .where(s.c.account_id.in_(chunk), s.c.month <= str(up_to))
                .group_by(s.c.account_id)
                .subquery()
            )
            rows = self._connection.execute(
                select(s).join(
                    latest, and_(s.c.account_id == latest.c.account_id, s.c.month == latest.c.month)
                )
            ).all()
            for row in rows:
                found[row.account_id] = _summary_from_row(row)
        return found

    def number_holdings(self, account_ids: Sequence[str]) -> dict[str, list[NumberHolding]]:
        h = bt.number_holdings
        found: dict[str, list[NumberHolding]] = {}
        for chunk in _chunks(list(account_ids)):
            for row in self._connection.execute(
                select(h).where(h.c.account_id.in_(chunk)).order_by(h.c.taken_on)
            ):
                found.setdefault(row.account_id, []).append(
                    NumberHolding(row.number, row.taken_on, row.released_on)
                )
        return found

    def add_number_holding(self, account_id: str, holding: NumberHolding) -> None:
        self._connection.execute(
            insert(bt.number_holdings).values(
                account_id=account_id, number=holding.number, taken_on=holding.taken_on, released_on=None
            )
        )

    def release_number_holding(self, account_id: str, holding: NumberHolding, released_on: date) -> None:
        h = bt.number_holdings
        self._connection.execute(
            update(h)
            .where(
                h.c.account_id == account_id, h.c.number == holding.number, h.c.taken_on == holding.taken_on
            )
            .values(released_on=released_on)
        )

    # CDRs --------------------------------------------------------------------------------------------
    def add_imported_cdrs(self, records: Sequence[tuple[str, Cdr]], recorded_at: datetime) -> int:
        """SIP-1: insert imported CDRs (source ``import``); keys already stored are skipped."""
        if not records:
            return 0
        existing: set[str] = set()
        for chunk in _chunks([key for key, _ in records]):
            existing.update(self._connection.execute(select(cdrs.c.id).where(cdrs.c.id.in_(chunk))).scalars())
        rows = [
            {
                "id": key,
                "call_id": cdr.cdr_id,
                "account_id": cdr.account_id,
                "direction": "outbound",
                "caller": "",
                "callee": cdr.destination,
                "started_at": cdr.started_at,
                "answered_at": cdr.started_at if cdr.billable_seconds > 0 else None,
                "ended_at": cdr.started_at + timedelta(seconds=cdr.billable_seconds),
                "billable_seconds": cdr.billable_seconds,
                "outcome": "answered" if cdr.billable_seconds > 0 else "no-answer",
                "sip_status": 200 if cdr.billable_seconds > 0 else 487,
                "emergency": cdr.emergency,
                "source": "import",
                "recorded_at": recorded_at,
            }
            for key, cdr in records
            if key not in existing
        ]
        if rows:
            self._connection.execute(self._insert_ignore(cdrs), rows)
        return len(rows)

    # rating --------------------------------------------------------------------------------------------
    def pending_cdrs(
        self, batch_size: int, call_order: Collection[str], runs: Mapping[str, Collection[RatingRun]]
    ) -> Iterator[PendingBatch]:
        """RAT: every answered outbound CDR some run has not rated, in batches of ``batch_size``.

        Each statement reads one snapshot; the rating job holds its lock on another connection
        for the whole pass, so nothing it rates changes underneath. CDRs of accounts outside
        ``call_order`` come first, in storage order (a sequential scan: RAT-1/RAT-2 price each
        call alone, so their order changes nothing); then those of ``call_order`` (the accounts
        with traffic packs), in call order (RAT-3: packs are drawn in call order). The rated
        flags are primary-key probes into ``rated_calls`` as the pass found it. ``runs`` says
        which runs price each account's calls (TEN-5, decided by ``rating.runs``); the CDRs of
        an account it does not name are left alone.
        """
        wanted = (
            frozenset(account for account, of in runs.items() if RatingRun.CUSTOMER_RETAIL in of),
            frozenset(account for account, of in runs.items() if RatingRun.PARTNER_WHOLESALE in of),
        )
        ordered = sorted(set(call_order))
        chosen = set(ordered)
        # PostgreSQL: each batch by account (a stable sort: each account's calls stay in order), so
        # that its cost records are stored by account. The monthly run marks the calls of a few
        # thousand accounts per transaction, and each UPDATE rewrites the page its row is on: with
        # an account's calls together in each batch, a run transaction rewrites about its share of
        # the pages instead of all of them (10,000 accounts: marking 17 s -> 13 s). Not on SQLite:
        # there the sort costs the rating pass 2-3 s of its 10, and its run is well within target.
        by_account = self._dialect == "postgresql"
        yield from self._pending_batches("", (), batch_size, wanted, skip=chosen, by_account=by_account)
        for chunk in _chunks(ordered, 500):
            marks = (
                ", ".join("?" for _ in chunk) if self._dialect == "sqlite" else ", ".join("%s" for _ in chunk)
            )
            yield from self._pending_batches(
                f"AND c.account_id IN ({marks}) ORDER BY c.started_at, c.id",
                tuple(chunk),
                batch_size,
                wanted,
            )

    def _pending_batches(
        self,
        where: str,
        params: tuple[Any, ...],
        batch_size: int,
        wanted: tuple[Collection[str], Collection[str]],
        *,
        skip: Collection[str] = (),
        by_account: bool = False,
    ) -> Iterator[PendingBatch]:
        sqlite_db = self._dialect == "sqlite"
        mark = "?" if sqlite_db else "%s"
        # Joins, not EXISTS subqueries: PostgreSQL may run a subquery again for every CDR as a
        # scan of rated_calls (which grows by this pass's own uncommitted rows); a join's inner
        # side is hashed once or probed by primary key. Instants come as naive UTC text on both
        # databases (``_utc_text``): parsed here, and kept for the cost records that write them back.
        instant = "c.started_at" if sqlite_db else "(c.started_at AT TIME ZONE 'UTC')::text"
        query = (
            f"SELECT c.id, c.account_id, {instant}, c.callee, c.billable_seconds, c.emergency, "
            "r1.cdr_id IS NOT NULL, r2.cdr_id IS NOT NULL FROM cdrs c "
            f"LEFT JOIN rated_calls r1 ON r1.cdr_id = c.id AND r1.run = {mark} "
            f"LEFT JOIN rated_calls r2 ON r2.cdr_id = c.id AND r2.run = {mark} "
            f"WHERE c.direction = 'outbound' AND c.outcome = 'answered' {where}"
        )
        raw: Any = self._connection.connection.driver_connection
        if sqlite_db:
            cursor = raw.execute(query, (_RETAIL, _WHOLESALE, *params))
        else:
            raw.execute("SET LOCAL jit = off")  # one plan for the whole pass: compiling it gains nothing
            cursor = raw.cursor(name="nuage_pending_cdrs")  # server side: rows come batch by batch
            cursor.execute(query, (_RETAIL, _WHOLESALE, *params))
        retail_accounts, wholesale_accounts = wanted
        parse = datetime.fromisoformat
        texts = _INSTANT_TEXTS
        record = tuple.__new__  # a NamedTuple from all its fields, without the Python-level __new__ call
        try:
            while rows := cursor.fetchmany(batch_size):
                if by_account:
                    rows.sort(key=_BY_ACCOUNT)
                retail: list[Cdr] = []
                wholesale: list[Cdr] = []
                add_retail, add_wholesale = retail.append, wholesale.append
                size = 0
                if len(texts) > _INSTANT_TEXTS_KEPT:
                    texts.clear()
                for (
                    cdr_id,
                    account_id,
                    started,
                    callee,
                    seconds,
                    emergency,
                    retail_rated,
                    wholesale_rated,
                ) in rows:
                    retail_due = not retail_rated and account_id in retail_accounts
                    wholesale_due = not wholesale_rated and account_id in wholesale_accounts
                    if not (retail_due or wholesale_due) or account_id in skip:
                        continue  # rated in every run it needs (or nobody to charge), or read later
                    text_value = started
                    if len(text_value) != 26 and not sqlite_db:  # PostgreSQL drops trailing zeros
                        text_value = (
                            f"{text_value}.000000" if len(text_value) == 19 else text_value.ljust(26, "0")
                        )
                    started = parse(text_value + "+00:00")
                    if len(text_value) == 26:  # with microseconds: as ``_utc_text`` writes it
                        texts[started] = text_value
                    cdr = record(Cdr, (cdr_id, account_id, started, callee, seconds, bool(emergency)))
                    size += 1
                    if retail_due:
                        add_retail(cdr)
                    if wholesale_due:
                        add_wholesale(cdr)
                if size:
                    yield PendingBatch(size, retail, wholesale)
        finally:
            cursor.close()

    def pack_balances(self, run: str, pack_ids: Iterable[str]) -> dict[str, PackBalance]:
        b = bt.pack_balances
        found: dict[str, PackBalance] = {}
        for chunk in _chunks(sorted(set(pack_ids))):
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
        if not calls:
            return 0
        if self._dialect == "postgresql":
            return self._copy_rated_calls(calls, rated_at, _copy_pieces(calls, rated_at))
        self._set_uninvoiced_index_aside(len(calls))
        at = _utc_text(rated_at)
        instants = _INSTANT_TEXTS
        memo = _MONEY_TEXTS
        # rows by run; in each, plain calls (bound without the plain columns) and the others
        rows: dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
        inserted = 0
        for (cdr_id, account_id, run, started, destination, prefix, version, billable, pack_seconds,
             charged, per_minute, exact, amount, pack_ids, emergency, itemised) in calls:  # fmt: skip
            exact_text, minor, amount_text = memo.get((exact, amount)) or _money_texts(exact, amount)
            started_text = instants.pop(started, None) or _utc_text(started)
            of_run = rows.get(run) or rows.setdefault(run, ([], []))
            if pack_seconds or pack_ids or emergency or not itemised:
                of_run[1].append(
                    (cdr_id, account_id, started_text, destination, prefix, version, billable, pack_seconds,
                     charged, str(per_minute), exact_text, minor, amount_text, " ".join(pack_ids),
                     1 if emergency else 0, 1 if itemised else 0)
                )  # fmt: skip
            else:
                of_run[0].append(
                    (cdr_id, account_id, started_text, destination, prefix, version, billable, charged,
                     str(per_minute), exact_text, minor, amount_text)
                )  # fmt: skip
        for run, (plain, others) in rows.items():
            for chosen, plain_calls in ((plain, True), (others, False)):
                if chosen:
                    statement = _sqlite_insert_rated(RatingRun(run), at, plain=plain_calls)
                    inserted += int(self._connection.exec_driver_sql(statement, chosen).rowcount)
        self._rated_inserted += inserted
        return inserted

    def prepare_rated_calls(self, calls: Sequence[RatedCall], rated_at: datetime) -> PreparedRatedCalls:
        """RAT: PostgreSQL: the COPY text of the records, in pieces; SQLite binds them as it writes."""
        if self._dialect != "postgresql":
            return PreparedRatedCalls(calls, rated_at, None)
        return PreparedRatedCalls(calls, rated_at, tuple(_copy_pieces(calls, rated_at)))

    def add_prepared_rated_calls(self, prepared: PreparedRatedCalls) -> int:
        calls, rated_at, encoded = prepared
        if not calls:
            return 0
        if self._dialect != "postgresql" or not isinstance(encoded, tuple):
            return self.add_rated_calls(calls, rated_at)
        return self._copy_rated_calls(calls, rated_at, encoded)

    def _set_uninvoiced_index_aside(self, coming: int) -> None:
        """SQLite bulk load: drop ``ix_rated_calls_uninvoiced`` for the rest of the transaction
        once this pass has stored twice what the index held and at least ``_BULK_ROWS`` records.

        Its entries (account, run) land all over the index, which doubles the cost of each
        insert; built again in one sorted pass at the end (``rating_stored``) it costs less than
        half of that per entry. The index indexes only what is left to invoice, so after a pass
        that stored that much, rebuilding it is dominated by the pass's own records. Other
        connections keep reading the committed schema (WAL) until the commit, which has the
        index again; a pass that fails rolls the drop back with everything else. (PostgreSQL
        keeps its index: dropping it would lock readers out of ``rated_calls`` for the pass.)
        """
        self._rated_stored += coming
        if self._uninvoiced_set_aside or self._rated_stored < _BULK_ROWS:
            return  # a small pass never counts the index
        if self._uninvoiced_before is None:
            held = self._connection.exec_driver_sql(
                "SELECT count(*) FROM rated_calls WHERE invoice_id IS NULL"
            ).scalar_one()
            self._uninvoiced_before = int(held) - self._rated_inserted  # less this pass's own
        if self._rated_stored >= 2 * self._uninvoiced_before:
            self._connection.exec_driver_sql("DROP INDEX ix_rated_calls_uninvoiced")
            self._uninvoiced_set_aside = True

    def rating_stored(self) -> None:
        """RAT: put back what a bulk pass set aside (SQLite: the uninvoiced index), before the commit."""
        if self._uninvoiced_set_aside:
            # The build sorts every entry; SQLite's sorter sorts runs as large as the page cache,
            # then merges them. Runs of a few MB stay in the processor's cache: the sort of a
            # million entries takes about half the time it takes in one 64 MB run.
            self._connection.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_SORT_CACHE_KIB}")
            self._connection.execute(CreateIndex(_UNINVOICED_INDEX))
            self._connection.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_JOB_CACHE_KIB}")
            self._uninvoiced_set_aside = False

    def _copy_rated_calls(self, calls: Sequence[RatedCall], rated_at: datetime, pieces: Iterable[str]) -> int:
        """COPY ``pieces`` (the COPY text of ``calls``) straight into ``rated_calls``, in one
        savepoint, a piece at a time: the server stores one while the next is made or sent. If a
        call is already there, COPY into a staging table and ``INSERT ... ON CONFLICT DO NOTHING``."""
        raw: Any = self._connection.connection.driver_connection
        columns = ", ".join(_RATED_COLUMNS)
        with raw.cursor() as cursor:
            cursor.execute("SAVEPOINT rated_copy")
            try:
                with cursor.copy(f"COPY rated_calls ({columns}) FROM STDIN") as copy:
                    for piece in pieces:
                        copy.write(piece)
            except psycopg_errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT rated_copy")
            else:
                cursor.execute("RELEASE SAVEPOINT rated_copy")
                return len(calls)
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS rated_calls_stage "
                "(LIKE rated_calls INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY rated_calls_stage ({columns}) FROM STDIN") as copy:
                for piece in _copy_pieces(calls, rated_at):
                    copy.write(piece)
            cursor.execute(
                f"INSERT INTO rated_calls ({columns}) SELECT {columns} FROM rated_calls_stage "
                "ON CONFLICT DO NOTHING"
            )
            inserted = int(cursor.rowcount)
            cursor.execute("TRUNCATE rated_calls_stage")
        return inserted

    def rated_calls(self, cdr_ids: Sequence[str]) -> list[RatedCall]:
        r = bt.rated_calls
        found: list[RatedCall] = []
        for chunk in _chunks(list(cdr_ids)):
            rows = self._connection.execute(
                select(r).where(r.c.cdr_id.in_(chunk)).order_by(r.c.started_at, r.c.cdr_id, r.c.run)
            )
            found.extend(_rated_from_row(row) for row in rows)
        return found

    def uninvoiced_calls(
        self, customer_runs: Mapping[str, str], before: datetime
    ) -> dict[str, list[RatedCall]]:
        """BIL-3: priced, itemised calls not invoiced yet, of each customer in its run, before ``before``.

        Read through the partial index ``ix_rated_calls_uninvoiced`` as plain driver rows; the
        few distinct prices and amounts are converted once each.
        """
        by_run: dict[str, list[str]] = {}
        for customer_id, run in customer_runs.items():
            by_run.setdefault(run, []).append(customer_id)
        sqlite = self._dialect != "postgresql"
        mark = "?" if sqlite else "%s"
        bound: Any = _utc_text(before) if sqlite else before
        found: dict[str, list[RatedCall]] = {}
        decimals: dict[Any, Decimal] = {}
        parse = datetime.fromisoformat
        make = RatedCall._make
        raw: Any = self._connection.connection.driver_connection
        cursor = raw.cursor()
        try:
            for run, customer_ids in by_run.items():
                for chunk in _chunks(customer_ids):
                    cursor.execute(
                        f"SELECT {_UNINVOICED_COLUMNS}, {'rowid' if sqlite else 'NULL'} FROM rated_calls "
                        f"WHERE run = {mark} AND account_id IN ({', '.join(mark for _ in chunk)}) "
                        f"AND invoice_id IS NULL AND itemised = {mark} AND amount_minor > 0 "
                        f"AND started_at < {mark} ORDER BY account_id, started_at, cdr_id",
                        (run, *chunk, True, bound),
                    )
                    account: str | None = None
                    calls: list[RatedCall] = []
                    places: list[int] = []
                    rows = cursor.fetchall()
                    for (cdr_id, account_id, started, destination, prefix, version, billable,
                         pack_seconds, charged, per_minute, exact, amount, pack_ids, emergency,
                         itemised, rowid) in rows:  # fmt: skip
                        if account_id != account:
                            account = account_id
                            calls = found.setdefault(account_id, [])
                            if sqlite:
                                places = self._uninvoiced_rows.setdefault((run, account_id, bound), [])
                        if sqlite:
                            places.append(rowid)
                            started = parse(started + "+00:00")  # stored as naive UTC
                            rate = decimals.get(per_minute)
                            if rate is None:
                                rate = decimals[per_minute] = Decimal(per_minute)
                            price = decimals.get(amount)
                            if price is None:
                                price = decimals[amount] = Decimal(amount)
                            per_minute, amount, exact = rate, price, Decimal(exact)
                        elif started.tzinfo is not UTC:
                            started = started.astimezone(UTC)
                        calls.append(
                            make((
                                cdr_id, account_id, run, started, destination, prefix, version, billable,
                                pack_seconds, charged, per_minute, exact, amount,
                                tuple(pack_ids.split()) if pack_ids else (), bool(emergency), bool(itemised),
                            ))
                        )  # fmt: skip
        finally:
            cursor.close()
        return found

    def mark_traffic_invoiced(self, marks: Sequence[TrafficMark], before: datetime) -> None:
        """BIL-3: one set-based update per customer (the rows ``uninvoiced_calls`` read), each
        checked against the number of calls its invoice line cites."""
        if not marks:
            return
        if self._dialect == "postgresql":
            raw: Any = self._connection.connection.driver_connection
            with raw.cursor() as cursor:
                cursor.execute(
                    "WITH v AS (SELECT unnest(%s::text[]) AS invoice_id, unnest(%s::text[]) AS run, "
                    "unnest(%s::text[]) AS account_id), "
                    "u AS (UPDATE rated_calls AS r SET invoice_id = v.invoice_id FROM v "
                    "WHERE r.run = v.run AND r.account_id = v.account_id AND r.invoice_id IS NULL "
                    "AND r.itemised AND r.amount_minor > 0 AND r.started_at < %s "
                    "RETURNING r.run, r.account_id) "
                    "SELECT run, account_id, count(*) FROM u GROUP BY run, account_id",
                    (
                        [m.invoice_id for m in marks],
                        [m.run for m in marks],
                        [m.customer_id for m in marks],
                        before,
                    ),
                )
                done = {(run, account_id): int(count) for run, account_id, count in cursor.fetchall()}
        else:
            at = _utc_text(before)
            done = self._mark_read_calls(marks, at)
            cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                for mark in marks:
                    if (mark.run, mark.customer_id) in done:
                        continue
                    cursor.execute(
                        "UPDATE rated_calls SET invoice_id = ? WHERE run = ? AND account_id = ? "
                        "AND invoice_id IS NULL AND itemised = 1 AND amount_minor > 0 AND started_at < ?",
                        (mark.invoice_id, mark.run, mark.customer_id, at),
                    )
                    done[(mark.run, mark.customer_id)] = cursor.rowcount
            finally:
                cursor.close()
        for mark in marks:
            if done.get((mark.run, mark.customer_id), 0) != mark.calls:
                raise Conflict(
                    "BIL-3: the calls of a customer changed while it was invoiced; run again",
                    customer_id=mark.customer_id,
                    expected=mark.calls,
                )

    def _mark_read_calls(self, marks: Sequence[TrafficMark], at: str) -> dict[tuple[str, str], int]:
        """SQLite, BIL-3: mark the calls of each customer that ``uninvoiced_calls`` read in this
        transaction, by row and in storage order; return the count marked per (run, customer).

        A customer's calls are spread over a month of rows; updating them customer by customer
        through the index visits the pages of ``rated_calls`` in random order, again for each
        customer, whereas in storage order each page is changed once. Every row is checked
        against the same filter again (not invoiced, itemised, priced, started before ``at``, the
        stored text of the run's bound), so a row that changed since it was read is not marked
        and the count check below fails. Customers whose calls were not read here (or not as
        many as the line cites) are left to the per-customer update.
        """
        rows: list[tuple[str, int]] = []
        counted: dict[tuple[str, str], int] = {}
        for mark in marks:
            places = self._uninvoiced_rows.get((mark.run, mark.customer_id, at))
            if places is not None and len(places) == mark.calls:
                rows.extend((mark.invoice_id, place) for place in places)
                counted[(mark.run, mark.customer_id)] = mark.calls
        if not rows:
            return {}
        rows.sort(key=itemgetter(1))
        marked = self._connection.exec_driver_sql(
            "UPDATE rated_calls SET invoice_id = ? WHERE rowid = ? AND invoice_id IS NULL "
            f"AND itemised = 1 AND amount_minor > 0 AND started_at < '{at}'",
            rows,
        ).rowcount
        if marked != len(rows):  # each row is marked at most once: all of them, or some changed
            return {key: 0 for key in counted}
        for key in counted:
            del self._uninvoiced_rows[(key[0], key[1], at)]
        return counted

    # contracts -----------------------------------------------------------------------------------------
    def contracts(self) -> list[ContractState]:
        c = bt.contracts
        return [
            _contract_from_row(row)
            for row in self._connection.execute(select(c).order_by(c.c.contracting_party_id, c.c.customer_id))
        ]

    def contract_for(self, customer_id: str) -> ContractState | None:
        c = bt.contracts
        row = self._connection.execute(select(c).where(c.c.customer_id == customer_id)).first()
        return None if row is None else _contract_from_row(row)

    def add_contract(self, state: ContractState, created_at: datetime) -> None:
        self._connection.execute(insert(bt.contracts).values(**_contract_row(state), created_at=created_at))

    def save_contract(self, state: ContractState) -> None:
        c = bt.contracts
        row = _contract_row(state)
        contract_id = row.pop("id")
        self._connection.execute(update(c).where(c.c.id == contract_id).values(**row))

    def save_contracts(self, states: Sequence[ContractState]) -> None:
        if not states:
            return
        c = bt.contracts
        rows = []
        for state in states:
            row = _contract_row(state)
            row["contract_id"] = row.pop("id")
            rows.append(row)
        self._connection.execute(update(c).where(c.c.id == bindparam("contract_id")), rows)

    # invoices ------------------------------------------------------------------------------------------
    def existing_run_keys(self, keys: Iterable[str]) -> set[str]:
        b = bt.billing_runs
        found: set[str] = set()
        for chunk in _chunks(sorted(set(keys))):
            found.update(
                self._connection.execute(select(b.c.run_key).where(b.c.run_key.in_(chunk))).scalars()
            )
        return found

    def locked_last_number(self, series: str, year: int) -> str | None:
        """BIL-4: the counter row, created when missing, locked until commit (``FOR UPDATE``)."""
        n = bt.invoice_counters
        self._connection.execute(self._insert_ignore(n).values(series=series, year=year, last_number=None))
        last: str | None = self._connection.execute(
            select(n.c.last_number).where(n.c.series == series, n.c.year == year).with_for_update()
        ).scalar_one()
        return last

    def set_last_number(self, series: str, year: int, number: str) -> None:
        n = bt.invoice_counters
        self._connection.execute(
            update(n).where(n.c.series == series, n.c.year == year).values(last_number=number)
        )

    def add_invoice(self, issued: IssuedInvoice, kind: str) -> str:
        (invoice_id,) = self.add_invoices([issued], kind)
        return invoice_id

    def add_invoices(self, documents: Sequence[IssuedInvoice], kind: str) -> list[str]:
        """BIL-4/BIL-9: store issued documents, their lines and run keys: one executemany per table."""
        ids = [new_id("inv") for _ in documents]
        if not documents:
            return ids
        invoice_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        run_rows: list[dict[str, Any]] = []
        for invoice_id, issued in zip(ids, documents, strict=True):
            draft = issued.draft
            totals = draft.totals
            period = None if draft.period is None else str(draft.period)
            invoice_rows.append(
                {
                    "id": invoice_id, "number": issued.number, "run_key": draft.run_key,
                    "document_type": draft.document_type.value, "invoiced_party_id": draft.invoiced_party_id,
                    "issue_on": draft.issue_on, "issued_at": issued.issued_at, "period": period,
                    "currency": draft.currency, "vat_regime": draft.vat.regime.value,
                    "vat_rate": draft.vat.rate,
                    "vat_mention_key": draft.vat.mention_key, "net_minor": to_minor(totals.net),
                    "net_precise": totals.net, "vat_minor": to_minor(totals.vat), "vat_precise": totals.vat,
                    "gross_minor": to_minor(totals.gross), "gross_precise": totals.gross,
                    "replaces": draft.replaces, "credits": draft.credits,
                }
            )  # fmt: skip
            line_rows.extend(
                _line_row(invoice_id, position, line) for position, line in enumerate(draft.lines, start=1)
            )
            run_rows.append(
                {
                    "run_key": draft.run_key, "kind": kind, "period": period,
                    "invoiced_party_id": draft.invoiced_party_id, "invoice_id": invoice_id,
                    "created_at": issued.issued_at,
                }
            )  # fmt: skip
        self._connection.execute(insert(bt.invoices), invoice_rows)
        if line_rows:
            self._connection.execute(insert(bt.invoice_lines), line_rows)
        self._connection.execute(insert(bt.billing_runs), run_rows)
        return ids

    def _stored(self, row: Row[Any]) -> StoredInvoice:
        m = row._mapping
        lines = self._connection.execute(
            select(bt.invoice_lines)
            .where(bt.invoice_lines.c.invoice_id == m["id"])
            .order_by(bt.invoice_lines.c.position)
        ).all()
        draft = InvoiceDraft(
            run_key=m["run_key"],
            document_type=DocumentType(m["document_type"]),
            invoiced_party_id=m["invoiced_party_id"],
            issue_on=m["issue_on"],
            period=_month(m["period"]),
            lines=tuple(_line_from_row(line) for line in lines),
            vat=VatTreatment(VatRegime(m["vat_regime"]), m["vat_rate"], m["vat_mention_key"]),
            replaces=m["replaces"],
            credits=m["credits"],
            currency=m["currency"],
        )
        i = bt.invoices
        credited_by = self._connection.execute(select(i.c.number).where(i.c.credits == m["number"])).scalar()
        replaced_by = self._connection.execute(select(i.c.number).where(i.c.replaces == m["number"])).scalar()
        return StoredInvoice(
            m["id"], IssuedInvoice(m["number"], draft, m["issued_at"]), credited_by, replaced_by
        )

    def find_invoice(self, number: str) -> StoredInvoice | None:
        i = bt.invoices
        row = self._connection.execute(select(i).where(i.c.number == number)).first()
        return None if row is None else self._stored(row)

    def list_invoices(
        self,
        *,
        party_ids: Sequence[str] | None,
        period: str | None,
        customer_id: str | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[InvoiceHeader], int]:
        i, lines = bt.invoices, bt.invoice_lines
        credit = bt.invoices.alias("credit")
        conditions: list[ColumnElement[bool]] = []
        if party_ids is not None:
            conditions.append(i.c.invoiced_party_id.in_(list(party_ids)))
        if period is not None:
            conditions.append(i.c.period == period)
        if customer_id is not None:
            conditions.append(
                or_(
                    i.c.invoiced_party_id == customer_id,
                    exists().where(lines.c.invoice_id == i.c.id, lines.c.customer_id == customer_id),
                )
            )
        total = self._connection.execute(select(func.count()).select_from(i).where(*conditions)).scalar_one()
        line_count = select(func.count()).where(lines.c.invoice_id == i.c.id).correlate(i).scalar_subquery()
        rows = self._connection.execute(
            select(i, line_count.label("line_count"), credit.c.number.label("credited_by"))
            .outerjoin(credit, credit.c.credits == i.c.number)
            .where(*conditions)
            .order_by(i.c.issued_at, i.c.number)
            .limit(limit)
            .offset(offset)
        ).all()
        headers = [
            InvoiceHeader(
                number=row.number,
                document_type=DocumentType(row.document_type),
                invoiced_party_id=row.invoiced_party_id,
                issue_on=row.issue_on,
                period=row.period,
                currency=row.currency,
                # totals are whole cents: the stored cents give them in one form on both databases
                # (PostgreSQL's NUMERIC(18, 4) gives 102.0300 for 102.03)
                net=from_minor(row.net_minor),
                vat=from_minor(row.vat_minor),
                gross=from_minor(row.gross_minor),
                line_count=int(row.line_count),
                replaces=row.replaces,
                credits=row.credits,
                credited_by=row.credited_by,
            )
            for row in rows
        ]
        return headers, int(total)

    def _not_voided(self) -> Any:
        i = bt.invoices
        credit = bt.invoices.alias("voiding")
        return and_(
            i.c.document_type == DocumentType.INVOICE.value,
            not_(exists().where(credit.c.credits == i.c.number)),
        )

    def billed_users(self, customer_ids: Sequence[str], month: Month) -> dict[str, int]:
        """CNT-3: sum of the user lines (flat fees aside) for ``month`` on invoices not voided."""
        i, lines = bt.invoices, bt.invoice_lines
        found: dict[str, Decimal] = {}
        for chunk in _chunks(list(customer_ids)):
            rows = self._connection.execute(
                select(lines.c.customer_id, lines.c.quantity)
                .join(i, i.c.id == lines.c.invoice_id)
                .where(
                    self._not_voided(),
                    lines.c.customer_id.in_(chunk),
                    lines.c.period == str(month),
                    lines.c.item_kind == ItemKind.BILLABLE_USERS.value,
                    lines.c.rule_id.in_(("BIL-2", "CNT-3")),
                    lines.c.description_key != "line.recurring.flat_fee",
                )
            )
            for customer_id, quantity in rows:
                found[customer_id] = found.get(customer_id, Decimal(0)) + quantity
        return {customer_id: int(quantity) for customer_id, quantity in found.items()}

    def latest_recurring_invoice(self, party_id: str, customer_id: str) -> StoredInvoice | None:
        i, lines = bt.invoices, bt.invoice_lines
        row = self._connection.execute(
            select(i)
            .where(
                self._not_voided(),
                i.c.invoiced_party_id == party_id,
                exists().where(
                    lines.c.invoice_id == i.c.id,
                    lines.c.customer_id == customer_id,
                    lines.c.rule_id.in_(_RECURRING_RULES),
                ),
            )
            .order_by(i.c.issued_at.desc(), i.c.number.desc())
            .limit(1)
        ).first()
        return None if row is None else self._stored(row)
