"""Row codecs of the billing tables: domain values to and from their stored form (charge specs,
price lists, summaries, cost records, contracts, invoice lines), instants as stored text, and
the id chunks of ``IN (...)`` lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from sqlalchemy import (
    Row,
)

from nuage.billing.charge_models import ChargeModelKind, ChargeSpec, Tier
from nuage.billing.lines import InvoiceLine, SourceRef
from nuage.billing.plans import Audience, OneTimeKind, PriceList
from nuage.billing.vat import LineVat, VatCategory
from nuage.payments.dunning import InterestMode
from nuage.rating.rater import RatedCall
from nuage.services.billing.ports import (
    ContractState,
)
from nuage.shared.money import to_minor
from nuage.shared.month import Month
from nuage.storage.sql import billing_tables as bt
from nuage.terms.contract import Contract, Termination
from nuage.terms.counting import ItemKind, MonthlySummary

T = TypeVar("T")
CHUNK = 2000  # ids per IN (...) list
EXACT_PLACES = Decimal("1e-12")  # exact amounts are kept to 12 places on both databases
RATED_COLUMNS = [column.name for column in bt.rated_calls.columns]


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def month_of(text_value: str | None) -> Month | None:
    return None if text_value is None else Month.parse(text_value)


def utc_text(at: datetime) -> str:
    """Naive UTC text with microseconds: what SQLAlchemy's SQLite DateTime stores for ``UtcDateTime``,
    and what PostgreSQL prints for a ``timestamp`` with microseconds."""
    utc = at if at.tzinfo is UTC else at.astimezone(UTC)
    return utc.isoformat(" ", "microseconds")[:26]


def spec_to_json(spec: ChargeSpec) -> dict[str, Any]:
    return {
        "model": spec.model.value,
        "unit_price": str(spec.unit_price),
        "tiers": [
            [None if tier.up_to is None else str(tier.up_to), str(tier.unit_price), str(tier.flat_fee)]
            for tier in spec.tiers
        ],
    }


def spec_from_json(data: Mapping[str, Any]) -> ChargeSpec:
    tiers = tuple(
        Tier(None if up_to is None else Decimal(up_to), Decimal(price), Decimal(flat))
        for up_to, price, flat in data.get("tiers", [])
    )
    return ChargeSpec(ChargeModelKind(data["model"]), Decimal(data["unit_price"]), tiers)


def price_list_from_row(row: Row[Any]) -> PriceList:
    m = row._mapping
    return PriceList(
        version=m["version"],
        audience=Audience(m["audience"]),
        valid_from=m["valid_from"],
        valid_to=m["valid_to"],
        recurring={ItemKind(kind): spec_from_json(spec) for kind, spec in m["recurring"].items()},
        one_time={OneTimeKind(kind): Decimal(price) for kind, price in m["one_time"].items()},
        capacity_reading=m["capacity_reading"],
        run_day=m["run_day"],
        interest_reading=None if m["interest_reading"] is None else InterestMode(m["interest_reading"]),
        resale={code: Decimal(price) for code, price in (m["resale"] or {}).items()},
    )


def summary_from_row(row: Row[Any]) -> MonthlySummary:
    m = row._mapping
    items = tuple(
        sorted(((ItemKind(k), Decimal(v)) for k, v in m["items"].items()), key=lambda i: i[0].value)
    )
    return MonthlySummary(
        m["account_id"], Month.parse(m["month"]), items, m["frozen_at"], m["previous_hash"], m["hash"]
    )


def rated_from_row(row: Row[Any]) -> RatedCall:
    m = row._mapping
    pack_ids = tuple(m["pack_ids"].split()) if m["pack_ids"] else ()
    return RatedCall(
        m["cdr_id"], m["account_id"], m["run"], m["started_at"], m["destination"], m["prefix"],
        m["tariff_version"], m["billable_seconds"], m["pack_seconds"], m["charged_seconds"],
        m["per_minute"], m["exact_amount"], m["amount_precise"], pack_ids, m["emergency"], m["itemised"],
    )  # fmt: skip


def contract_from_row(row: Row[Any]) -> ContractState:
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
    return ContractState(contract, m["order_id"], month_of(m["recurring_billed_through"]))


def contract_row(state: ContractState) -> dict[str, Any]:
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


def line_row(invoice_id: str, position: int, line: InvoiceLine) -> dict[str, Any]:
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


def line_from_row(row: Row[Any]) -> InvoiceLine:
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
        period=month_of(m["period"]),
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
