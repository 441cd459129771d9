"""Call records over the API (SIP-1): filtered, paged by cursor, exported as CSV, scoped (TEN-4, TEN-5)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from nuage.services.billing.demo import demo_cdr_csv
from nuage.sip.ports import CallOutcome, CdrRecord, Direction
from nuage.storage.sql.sip_records import SqlCdrSink
from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, PARTNER, DUPONT, PEETERS = "demo-operator", "demo-bruvoice", "demo-dupont", "demo-peeters"
BOB, ALICE = "bob@dupont.example", "alice@dupont.example"
JANUARY = datetime(2026, 1, 1, tzinfo=UTC)


def _account(api: Api, name: str) -> str:
    with api.platform.uow() as uow:
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name=name)
        assert party is not None
        return party.id


async def _user_id(api: Api, email: str) -> str:
    users = (await api.get(DUPONT, "/users", params={"limit": 100})).json()["items"]
    return next(u["id"] for u in users if u.get("email") == email)


async def _device_of(api: Api, user_id: str) -> str:
    devices = (await api.get(DUPONT, "/devices", params={"limit": 100})).json()["items"]
    return next(d["id"] for d in devices if d.get("user_id") == user_id)


def _sip_cdr(account: str, device: str | None, **kind: object) -> CdrRecord:
    started = kind.pop("started_at", JANUARY + timedelta(days=20))
    assert isinstance(started, datetime)
    fields: dict[str, object] = {
        "call_id": f"call-{started.timestamp()}",
        "caller": "211",
        "callee": "+3222001122",
        "account_id": account,
        "device_id": device,
        "trunk_id": None,
        "direction": Direction.OUTBOUND,
        "started_at": started,
        "answered_at": None,
        "ended_at": started + timedelta(seconds=3),
        "billable_seconds": 0,
        "outcome": CallOutcome.REFUSED,
        "sip_status": 403,
        "refusal_rule_id": "CAP-3",
        "emergency": False,
    }
    fields.update(kind)
    return CdrRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def calls(api: Api) -> Api:
    """The demo month's ten CDRs, imported and rated, and three SIP CDRs of Dupont's phones."""
    with api.platform.uow() as uow:
        csv_text = demo_cdr_csv(uow)
    imported = await api.post(
        OPERATOR, "/billing/cdr-imports", content=csv_text.encode(), headers={"Content-Type": "text/csv"}
    )
    assert imported.json()["imported"] == 10
    assert (await api.post(OPERATOR, "/billing/ratings")).status_code == 200
    dupont = _account(api, "Atelier Dupont")
    bob = await _user_id(api, BOB)
    device = await _device_of(api, bob)
    await SqlCdrSink(api.platform.engine).write(
        [
            _sip_cdr(dupont, device),
            _sip_cdr(
                dupont,
                device,
                started_at=JANUARY + timedelta(days=21),
                callee='=HYPERLINK("x")',
                refusal_rule_id="SIP-2",
                sip_status=403,
            ),
            _sip_cdr(
                dupont,
                None,
                started_at=JANUARY + timedelta(days=22),
                direction=Direction.INTERNAL,
                caller="212",
                callee="211",
                outcome=CallOutcome.ANSWERED,
                answered_at=JANUARY + timedelta(days=22, seconds=2),
                ended_at=JANUARY + timedelta(days=22, seconds=62),
                billable_seconds=60,
                sip_status=200,
                refusal_rule_id=None,
                loss_percent=1.5,  # an anchored call: the engine measured its media (issue #15)
                jitter_ms=3.25,
                mos=4.12,
            ),
        ]
    )
    return api


async def _all(api: Api, who: str, **params: object) -> list[dict[str, object]]:
    answer = await api.get(who, "/call-records", params={"limit": 500, **params})
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_cursor"] is None
    items: list[dict[str, object]] = answer.json()["items"]
    return items


@pytest.mark.rule("SIP-1")
@pytest.mark.rule("TEN-4")
async def test_each_tenant_reads_its_own_call_records(calls: Api) -> None:
    api = calls
    dupont, peeters = _account(api, "Atelier Dupont"), _account(api, "Bakkerij Peeters")
    everything = await _all(api, OPERATOR)
    assert len(everything) == 13
    assert [r["started_at"] for r in everything] == sorted(r["started_at"] for r in everything)  # type: ignore[type-var]
    own = await _all(api, DUPONT)
    assert len(own) == 8
    assert {r["account_id"] for r in own} == {dupont}
    hidden = await api.get(DUPONT, "/call-records", params={"account_id": peeters})
    assert hidden.status_code == 404
    assert {r["account_id"] for r in await _all(api, OPERATOR, account_id=peeters)} == {peeters}
    customers = {
        c["id"] for c in (await api.get(PARTNER, "/customers", params={"limit": 100})).json()["items"]
    }
    partner = {r["account_id"] for r in await _all(api, PARTNER)}
    assert partner
    assert partner <= customers
    assert dupont not in customers


@pytest.mark.rule("SIP-1")
async def test_filters_keep_what_they_name(calls: Api) -> None:
    api = calls
    refused = await _all(api, OPERATOR, refused_by="CAP-3")
    assert [(r["disposition"], r["refusal_rule"], r["sip_status"]) for r in refused] == [
        ("refused", "CAP-3", 403)
    ]
    assert len(await _all(api, OPERATOR, disposition="refused")) == 2
    internal = await _all(api, OPERATOR, direction="internal")
    assert [(r["caller"], r["callee"], r["billable_seconds"]) for r in internal] == [("212", "211", 60)]
    fixed = await _all(api, OPERATOR, number="+32 2 200 11 22")
    assert {r["callee"] for r in fixed} == {"+3222001122"}
    assert len(fixed) == 3
    january_12 = await _all(
        api, OPERATOR, since="2026-01-12T00:00:00+01:00", until="2026-01-13T00:00:00+01:00"
    )
    assert len(january_12) == 2
    bob = await _user_id(api, BOB)
    assert len(await _all(api, DUPONT, user_id=bob)) == 2  # the calls of Bob's phone


@pytest.mark.rule("SIP-1")
async def test_pages_follow_the_cursor_without_gaps_or_repeats(calls: Api) -> None:
    api = calls
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get(OPERATOR, "/call-records", params=params)).json()
        pages += 1
        seen.extend(r["id"] for r in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert seen == [r["id"] for r in await _all(api, OPERATOR)]
    bad = await api.get(OPERATOR, "/call-records", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["details"]["field"] == "cursor"


@pytest.mark.rule("TEN-5")
async def test_a_customer_reads_its_retail_prices_and_never_the_wholesale_ones(calls: Api) -> None:
    api = calls
    operator = {r["id"]: r for r in await _all(api, OPERATOR) if r["source"] == "import"}
    customer = {r["id"]: r for r in await _all(api, DUPONT) if r["source"] == "import"}
    assert customer
    for key, record in customer.items():
        assert {p["run"] for p in record["prices"]} == {"customer-retail"}  # type: ignore[attr-defined]
        assert {p["run"] for p in operator[key]["prices"]} >= {"customer-retail"}  # type: ignore[attr-defined]
    france = next(r for r in customer.values() if r["callee"] == "+33142000000")
    assert france["prices"][0]["amount"] == "0.40"  # type: ignore[index]  # 300 s at 0.08/min
    runs = {p["run"] for r in await _all(api, PARTNER) for p in r["prices"]}  # type: ignore[attr-defined]
    assert "partner-wholesale" in runs


@pytest.mark.rule("SIP-1")
async def test_a_user_reads_only_its_own_calls(calls: Api) -> None:
    api = calls
    bob, alice = await _user_id(api, BOB), await _user_id(api, ALICE)
    own = await api.get(BOB, "/call-records", params={"user_id": bob})
    assert own.status_code == 200
    assert len(own.json()["items"]) == 2
    assert (await api.get(BOB, "/call-records")).status_code == 403
    assert (await api.get(BOB, "/call-records", params={"user_id": alice})).status_code == 403
    assert (await api.get(ALICE, "/call-records")).status_code == 200


@pytest.mark.rule("SIP-1")
async def test_the_export_streams_every_record_as_csv_safe_for_spreadsheets(calls: Api) -> None:
    api = calls
    answer = await api.get(DUPONT, "/call-records/export.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 8
    assert "amount_partner-wholesale" not in rows[0]
    assert {r["callee"] for r in rows} >= {'\'=HYPERLINK("x")', "+3222001122"}
    france = next(r for r in rows if r["callee"] == "+33142000000")
    assert france["amount_customer-retail"] == "0.40"
    operator = list(csv.DictReader(io.StringIO((await api.get(OPERATOR, "/call-records/export.csv")).text)))
    assert len(operator) == 13
    assert "amount_partner-wholesale" in operator[0]


@pytest.mark.rule("SIP-1")
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"since": "2025-01-01T00:00:00+00:00", "until": "2026-03-01T00:00:00+00:00"}, "until"),
        ({"direction": "sideways"}, "direction"),
        ({"number": "call me"}, "number"),
        ({"refused_by": "DROP TABLE"}, "refused_by"),
    ],
)
async def test_a_bad_filter_is_refused_naming_the_field(
    calls: Api, params: dict[str, str], field: str
) -> None:
    answer = await calls.get(OPERATOR, "/call-records", params=params)
    assert answer.status_code == 422
    assert answer.json()["details"]["field"] == field


async def test_an_anchored_calls_record_shows_its_media_quality(calls: Api) -> None:
    records = await _all(calls, DUPONT, direction="internal")
    anchored = [r for r in records if r["mos"] is not None]
    assert [(r["loss_percent"], r["jitter_ms"], r["mos"]) for r in anchored] == [(1.5, 3.25, 4.12)]
    others = [r for r in records if r["mos"] is None]
    assert all(r["loss_percent"] is None and r["jitter_ms"] is None for r in others)
