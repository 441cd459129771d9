"""Traffic of a month: a pack exhausted mid-month, a tariff change mid-month, emergency calls."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from billing_world import PACKS, PLAN, RETAIL_TARIFFS, USERS, amounts, brussels, clock_at, counts, direct

from nuage.billing.invoices import InvoiceDraft
from nuage.billing.runs import CountBasis, CustomerAccount, MonthlyRunRequest, run_monthly_billing
from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackKind, TrafficPack
from nuage.rating.rater import RatedCall, rate_calls
from nuage.rating.runs import RatingRun
from nuage.shared.clock import business_date
from nuage.shared.month import Month
from nuage.terms.contract import Contract

CUSTOMER = direct("talky")
CONTRACT = Contract("ctr-t", "talky", "talky", date(2024, 6, 1))
RUN = RatingRun.CUSTOMER_RETAIL.value


def bill_february(calls: tuple[RatedCall, ...], basis: CountBasis | None) -> InvoiceDraft:
    account = CustomerAccount(
        CONTRACT, PLAN, basis, recurring_billed_through=Month(2025, 2), rated_calls=calls
    )
    run_on = business_date(clock_at(date(2025, 2, 28)).now())
    (draft,) = run_monthly_billing(MonthlyRunRequest(Month(2025, 2), run_on, [CUSTOMER], [account])).drafts
    return draft


@pytest.mark.rule("RAT-3")
def test_pack_exhausted_mid_month_then_out_of_pack_traffic_is_billed() -> None:
    pack = TrafficPack(
        "pack-100", "talky", "pack-v1", PackKind.MINUTES, Decimal(100), brussels(2025, 2, 1, 0)
    )
    start = brussels(2025, 2, 3, 9)
    cdrs = [Cdr(f"c{i}", "talky", start + timedelta(days=i), "+3222001122", 1800) for i in range(1, 6)]
    cdrs.append(Cdr("c6", "talky", start + timedelta(days=6), "+32470123456", 120))
    cdrs.append(Cdr("sos", "talky", start + timedelta(days=7), "112", 240, emergency=True))
    outcome = rate_calls(cdrs, RETAIL_TARIFFS, run=RUN, packs=[pack])
    split = {call.cdr_id: (call.pack_seconds, call.charged_seconds, call.amount) for call in outcome.rated}
    assert split == {
        "c1": (1800, 0, Decimal("0.00")),
        "c2": (1800, 0, Decimal("0.00")),
        "c3": (1800, 0, Decimal("0.00")),
        "c4": (600, 1200, Decimal("1.00")),  # the straddling call: 10 min free, 20 min priced
        "c5": (0, 1800, Decimal("1.50")),
        "c6": (0, 120, Decimal("0.30")),
        "sos": (0, 0, Decimal("0")),
    }
    assert outcome.balances["pack-100"].used_seconds == 6000
    draft = bill_february(outcome.rated, CountBasis.from_order("ord-t", counts({USERS: 2, PACKS: 1})))
    assert amounts(draft) == [
        ("BIL-2", "talky", "billable_users", "2025-03", Decimal(2), Decimal("19.95"), Decimal("39.90")),
        ("BIL-2", "talky", "traffic_packs", "2025-03", Decimal(1), Decimal("10.00"), Decimal("10.00")),
        ("BIL-3", "talky", "traffic", "2025-02", Decimal(1), Decimal("2.80"), Decimal("2.80")),
    ]
    traffic = draft.lines[-1]
    assert [source.key for source in traffic.sources] == ["c4", "c5", "c6"]  # no emergency call
    assert dict(traffic.description_params) == {"calls": "3", "seconds": "3120", "period": "2025-02"}
    assert (draft.totals.net, draft.totals.vat, draft.totals.gross) == (
        Decimal("52.70"),
        Decimal("11.07"),
        Decimal("63.77"),
    )


@pytest.mark.rule("RAT-2")
def test_tariff_change_mid_month_prices_each_call_by_its_version() -> None:
    before = Cdr("before", "talky", brussels(2025, 2, 14, 23, 30), "+3222001122", 61)
    after = Cdr("after", "talky", brussels(2025, 2, 15, 0, 30), "+3222001122", 61)
    mobile = Cdr("mobile", "talky", brussels(2025, 2, 20, 10), "+32470123456", 61)
    outcome = rate_calls([before, after, mobile], RETAIL_TARIFFS, run=RUN)
    priced = {call.cdr_id: (call.tariff_version, call.exact_amount, call.amount) for call in outcome.rated}
    assert priced["before"][0] == "retail-t1"
    assert priced["before"][2] == Decimal("0.06")  # 0.0508333... rounded up
    assert priced["after"] == ("retail-t2", Decimal("0.061"), Decimal("0.07"))
    assert priced["mobile"] == ("retail-t2", Decimal("0.183"), Decimal("0.19"))
    assert amounts(bill_february(outcome.rated, None)) == [
        ("BIL-3", "talky", "traffic", "2025-02", Decimal(1), Decimal("0.32"), Decimal("0.32"))
    ]
