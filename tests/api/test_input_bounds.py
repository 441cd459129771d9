"""Input bounded at the edge: bodies over their cap are 413 `payload-too-large`, never read whole; names
without control characters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.support import Api
from nuage.api.body_limit import CSV_BYTES, JSON_BYTES
from nuage.directory.rules import MAX_SOUND_BYTES
from nuage.tenancy.model import PartyKind
from sound_samples import tone_file

ADMIN = "demo-dupont"
CHUNK = 64 * 1024


class Body:
    """A request body sent in chunks, counting how many the server asked for."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += CHUNK
            yield b" " * CHUNK


async def test_a_declared_length_over_the_cap_is_refused_before_any_byte_is_read(api: Api) -> None:
    body = Body(100 * 1024 * 1024)
    answer = await api.post(
        ADMIN,
        "/users",
        content=body,
        headers={"content-type": "application/json", "content-length": str(body.total)},
    )
    assert answer.status_code == 413
    assert answer.json()["error_id"] == "payload-too-large"
    assert answer.json()["details"] == {"field": "body", "max_bytes": JSON_BYTES}
    assert body.sent == 0


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_cap(api: Api) -> None:
    body = Body(100 * 1024 * 1024)  # chunked: no Content-Length to trust
    answer = await api.post(ADMIN, "/users", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["error_id"] == "payload-too-large"
    assert body.sent <= JSON_BYTES + 2 * CHUNK  # stopped at the cap, not at 100 MB


async def test_a_body_under_the_cap_is_served(api: Api) -> None:
    created = await api.post(ADMIN, "/users", json={"name": "Eve " + "x" * 100})
    assert created.status_code == 201


async def test_each_media_type_has_its_cap(api: Api) -> None:
    too_long_sound = Body(MAX_SOUND_BYTES + 2 * CHUNK)
    sound = await api.post(
        ADMIN,
        "/sound-files?name=Hold&copyright_acknowledged=true",
        content=too_long_sound,
        headers={"content-type": "audio/wav"},
    )
    assert sound.status_code == 413
    assert sound.json()["details"]["max_bytes"] == MAX_SOUND_BYTES
    # a CSV of more than the JSON cap is fine (CDR imports are large), one over its own cap is not
    csv = await api.post(
        "demo-operator",
        "/billing/cdr-imports",
        content=b"cdr_id,account_id,started_at,destination,billable_seconds\n" + b"\n" * (2 * JSON_BYTES),
        headers={"content-type": "text/csv"},
    )
    assert csv.status_code == 200, csv.text
    declared = await api.post(
        "demo-operator",
        "/billing/cdr-imports",
        content=Body(CSV_BYTES + 1),
        headers={"content-type": "text/csv", "content-length": str(CSV_BYTES + 1)},
    )
    assert declared.status_code == 413
    assert declared.json()["details"]["max_bytes"] == CSV_BYTES


async def test_a_content_length_that_is_not_a_number_is_refused(api: Api) -> None:
    answer = await api.post(
        ADMIN, "/users", content=b"{}", headers={"content-type": "application/json", "content-length": "x"}
    )
    assert answer.status_code == 400
    assert answer.json()["error_id"] == "bad-request"


async def test_names_with_control_characters_are_refused_naming_the_field(api: Api) -> None:
    for bad in ("Eve\x00", "E\x7fve", "E\x85ve", "\x00"):
        answer = await api.post(ADMIN, "/users", json={"name": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["details"]["field"] == "name"
    partner = await api.post("demo-operator", "/partners", json={"name": "Meuse\x00Connect"})
    assert partner.status_code == 422
    assert partner.json()["details"]["field"] == "name"


@pytest.mark.rule("CFG-12")
@pytest.mark.rule("TEN-4")
async def test_partner_staff_upload_sound_files_for_their_own_customers(api: Api) -> None:
    customers = (await api.get("pierre@bruvoice.example", "/customers")).json()["items"]
    assert customers
    account = customers[0]["id"]
    audio = {"content": tone_file(440, 1), "headers": {"content-type": "audio/wav"}}
    path = f"/sound-files?account_id={account}&name=Hold&copyright_acknowledged=true"
    uploaded = await api.post("pierre@bruvoice.example", path, **audio)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["account_id"] == account
    assert uploaded.json()["uploaded_by_user_id"] is not None
    # another partner's customer stays out of reach (TEN-4)
    others = (await api.get("marie@meuse-connect.example", "/customers")).json()["items"]
    elsewhere = f"/sound-files?account_id={others[0]['id']}&name=Hold&copyright_acknowledged=true"
    assert (await api.post("pierre@bruvoice.example", elsewhere, **audio)).status_code == 404


async def test_ids_a_spreadsheet_would_run_as_formulas_are_refused(api: Api) -> None:
    for bad in ("=1+1", "-2+3", "+cmd", "@SUM(A1)"):
        answer = await api.get(ADMIN, "/users", params={"account_id": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["details"]["field"] == "account_id"
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    assert (await api.get(ADMIN, "/users", params={"account_id": account})).status_code == 200


@pytest.mark.rule("SIP-1")
async def test_a_cdr_upload_reports_bad_rows_and_refuses_a_file_that_is_not_utf8(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    header = "cdr_id,account_id,started_at,destination,billable_seconds\n"
    rows = f"c1,{account},2026-01-10T09:00:00+01:00,+3222001122,1000000000000\n"
    csv = {"headers": {"content-type": "text/csv"}}
    answer = await api.post("demo-operator", "/billing/cdr-imports", content=(header + rows).encode(), **csv)
    assert answer.status_code == 200, answer.text
    assert [(e["row"], e["field"]) for e in answer.json()["errors"]] == [(2, "billable_seconds")]
    latin1 = (header + "c2,Société,2026-01-10T09:00:00+01:00,+3222001122,61\n").encode("latin-1")
    refused = await api.post("demo-operator", "/billing/cdr-imports", content=latin1, **csv)
    assert refused.status_code == 422
    assert refused.json()["details"] == {"field": "file", "row": 2}
