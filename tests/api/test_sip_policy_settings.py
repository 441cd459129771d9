"""The operator's settings of the terms on every call: SIP-4 blocks (listed, cleared, kept across
a restart) and SIP-5 daily spending caps (set, read, cleared, restored from today's CDRs)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from nuage.bootstrap import SipRuntime
from nuage.policy import AutoDialerBlock, AutoDialerThresholds, Subject
from nuage.shared.ids import new_id
from nuage.storage.sql import tables
from nuage.storage.sql.policy_store import SqlPolicyStore
from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, DUPONT = "demo-operator", "demo-dupont"


def _dupont(api: Api) -> str:
    return api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")


async def _runtime(api: Api) -> SipRuntime:
    api.platform.settings.sip.port = 0
    runtime = SipRuntime(api.platform)
    await runtime.start()
    return runtime


def _stored_blocks(api: Api) -> list[AutoDialerBlock]:
    with api.platform.engine.connect() as connection:
        return SqlPolicyStore(connection).autodialer_blocks()


# -- SIP-4 -------------------------------------------------------------------------------------------


@pytest.mark.rule("SIP-4")
async def test_a_block_is_stored_kept_across_a_restart_and_cleared_by_the_operator(api: Api) -> None:
    dupont = _dupont(api)
    runtime = await _runtime(api)
    try:
        detector = runtime.policy.autodialer
        detector.thresholds = AutoDialerThresholds(min_sample=3, sequential_run=3)
        for n in range(3):
            detector.attempt(f"c{n}", f"047500000{n}", (Subject("trunk", "trk-1"),), account_id=dupont)
    finally:
        await runtime.stop(grace_s=1)  # writes behind what is left
    (stored,) = _stored_blocks(api)
    assert (stored.subject, stored.account_id) == (Subject("trunk", "trk-1"), dupont)
    restarted = await _runtime(api)
    try:
        assert [b.subject for b in restarted.policy.autodialer_blocks()] == [Subject("trunk", "trk-1")]
        seen = await api.get(OPERATOR, "/sip/autodialer-blocks")
        hidden = await api.delete(DUPONT, "/sip/autodialer-blocks/trunk/trk-1")
        cleared = await api.delete(OPERATOR, "/sip/autodialer-blocks/trunk/trk-1")
        again = await api.delete(OPERATOR, "/sip/autodialer-blocks/trunk/trk-1")
        after = await api.get(OPERATOR, "/sip/autodialer-blocks")
        assert restarted.policy.autodialer_blocks() == []
    finally:
        await restarted.stop(grace_s=1)
    (block,) = seen.json()["items"]
    assert (block["subject_kind"], block["subject_id"], block["account_id"], block["trunk_id"]) == (
        "trunk",
        "trk-1",
        dupont,
        "trk-1",
    )
    assert "3 sequential destinations" in block["reason"]
    assert hidden.status_code == 404  # TEN-4
    assert cleared.status_code == 204, cleared.text
    assert again.status_code == 404
    assert again.json()["error_id"] == "not-found"
    assert after.json() == {"items": [], "total": 0}
    assert _stored_blocks(api) == []


@pytest.mark.rule("SIP-4")
async def test_without_sip_in_the_process_blocks_are_read_and_cleared_in_storage(api: Api) -> None:
    dupont = _dupont(api)
    block = AutoDialerBlock(
        Subject("account", dupont), api.platform.clock.now(), "found by a SIP node", dupont
    )
    with api.platform.engine.begin() as connection:
        SqlPolicyStore(connection).save_autodialer_block(block)
    seen = await api.get(OPERATOR, "/sip/autodialer-blocks")
    bad_kind = await api.delete(OPERATOR, f"/sip/autodialer-blocks/phone/{dupont}")
    cleared = await api.delete(OPERATOR, f"/sip/autodialer-blocks/account/{dupont}")
    assert [b["account_id"] for b in seen.json()["items"]] == [dupont]
    assert bad_kind.status_code in (400, 422)
    assert "error_id" in bad_kind.json()
    assert cleared.status_code == 204
    assert _stored_blocks(api) == []


# -- SIP-5 -------------------------------------------------------------------------------------------


@pytest.mark.rule("SIP-5")
async def test_the_operator_sets_reads_and_clears_an_accounts_daily_spending_cap(api: Api) -> None:
    dupont = _dupont(api)
    path = f"/call-limits/{dupont}"
    unset = await api.get(OPERATOR, path)
    put = await api.put(OPERATOR, path, json={"daily_spend_cap": "25.50"})
    read = await api.get(OPERATOR, path)
    refused = await api.put(DUPONT, path, json={"daily_spend_cap": "1000"})  # not the customer's to set
    invalid = await api.put(OPERATOR, path, json={"daily_spend_cap": "-1"})
    too_precise = await api.put(OPERATOR, path, json={"daily_spend_cap": "1.001"})
    unknown = await api.put(OPERATOR, "/call-limits/cus_nobody", json={"daily_spend_cap": "5"})
    runtime = await _runtime(api)
    try:
        assert runtime.policy_state.snapshot.spend_caps == {dupont: Decimal("25.50")}
        cleared = await api.delete(OPERATOR, path)
        await runtime.policy_state.reload()
        assert runtime.policy_state.snapshot.spend_caps == {}
        with_sip = await api.get(OPERATOR, path)
    finally:
        await runtime.stop(grace_s=1)
    assert unset.json()["daily_spend_cap"] is None
    assert put.status_code == 200, put.text
    assert Decimal(read.json()["daily_spend_cap"]) == Decimal("25.50")
    assert read.json()["spent_today"] is None  # no SIP in this process then
    assert refused.status_code == 404  # TEN-4: the operator's setting is not visible to customers
    assert invalid.status_code in (400, 422)
    assert invalid.json()["error_id"]
    assert too_precise.status_code in (400, 422)
    assert unknown.status_code == 404
    assert cleared.status_code == 204
    assert with_sip.json()["daily_spend_cap"] is None
    assert Decimal(with_sip.json()["spent_today"]) == 0


@pytest.mark.rule("SIP-5")
async def test_todays_spend_is_restored_from_the_cdrs_at_start(api: Api) -> None:
    dupont = _dupont(api)
    now = api.platform.clock.now()
    rows = [  # (callee, seconds, minutes ago): priced with the demo's retail tariffs
        ("0475123456", 61, 30),  # Belgian mobile, 0.15/min: 0.1525 -> 0.16
        ("+3223000999", 120, 20),  # Belgian fixed, 0.05/min: 0.10
        ("112", 300, 10),  # emergency: free
        ("+33123456789", 30, 60 * 24),  # yesterday: not today's
    ]
    with api.platform.engine.begin() as connection:
        for callee, seconds, ago in rows:
            started = now - timedelta(minutes=ago)
            connection.execute(
                insert(tables.cdrs).values(
                    id=new_id("cdr"),
                    call_id=new_id("call"),
                    account_id=dupont,
                    direction="outbound",
                    caller="alice",
                    callee=callee,
                    started_at=started,
                    answered_at=started,
                    ended_at=started + timedelta(seconds=seconds),
                    billable_seconds=seconds,
                    outcome="answered",
                    sip_status=200,
                    emergency=callee == "112",
                    source="sip",
                    recorded_at=now,
                )
            )
    runtime = await _runtime(api)
    try:
        spent = runtime.policy.spend.spent(dupont)
        seen = await api.get(OPERATOR, f"/call-limits/{dupont}")
    finally:
        await runtime.stop(grace_s=1)
    assert spent == Decimal("0.26")
    assert Decimal(seen.json()["spent_today"]) == Decimal("0.26")
