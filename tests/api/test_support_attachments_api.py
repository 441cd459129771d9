"""Attachments of tickets over the API (SUP-1): a file uploaded as multipart (bounded, its type
sniffed from its bytes), a call recording or a call record of the ticket's own account linked
(TEN-4: another account's is not found), and the requester told of the ticket by e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nuage.directory.model import CallRecording
from nuage.services.directory.media import add_call_recording
from nuage.sip.ports import CallOutcome, CdrRecord, Direction
from nuage.storage.sql.sip_records import SqlCdrSink
from nuage.support.attachments import MAX_ATTACHMENT_BYTES
from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, DUPONT, PEETERS = "demo-operator", "demo-dupont", "demo-peeters"
BOB = "bob@dupont.example"
NOW = datetime(2026, 2, 10, 9, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def _recording(api: Api, account_id: str, recording_id: str) -> None:
    with api.platform.uow() as uow:
        add_call_recording(
            uow, CallRecording(recording_id, account_id, f"call-{recording_id}", 4096, 3000, NOW)
        )
        uow.commit()


async def _cdr(api: Api, account_id: str, call_id: str) -> None:
    started = NOW - timedelta(hours=1)
    record = CdrRecord(
        call_id=call_id,
        caller="211",
        callee="+3222001122",
        account_id=account_id,
        device_id=None,
        trunk_id=None,
        direction=Direction.OUTBOUND,
        started_at=started,
        answered_at=None,
        ended_at=started + timedelta(seconds=3),
        billable_seconds=0,
        outcome=CallOutcome.REFUSED,
        sip_status=486,
        refusal_rule_id=None,
        emergency=False,
    )
    await SqlCdrSink(api.platform.engine).write([record])


async def _record_id(api: Api, who: str, call_id: str) -> str:
    found = (
        await api.get(who, "/call-records", params={"limit": 100, "since": "2026-01-01T00:00:00Z"})
    ).json()
    return str(next(r["id"] for r in found["items"] if r["call_id"] == call_id))


@pytest.mark.rule("SUP-1")
@pytest.mark.rule("TEN-4")
async def test_files_and_calls_attached_to_a_ticket_stay_in_its_tenant(api: Api) -> None:
    api.platform.clock.set(NOW)  # type: ignore[attr-defined]
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    body = {
        "account_id": dupont,
        "category": "call_quality",
        "subject": "Echo",
        "description": "Echo on calls",
    }
    opened = await api.post(BOB, "/tickets", json=body)
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert ticket["contact_email"] == BOB  # the user who opened it hears about it
    path = f"/tickets/{ticket['id']}/attachments"

    uploaded = await api.post(BOB, path, files={"file": ("../../etc/echo.png", PNG, "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["content_type"] == "image/png"  # the bytes decide, not the declared type
    assert uploaded.json()["filename"] == "echo.png"  # no path
    content = await api.get(BOB, f"{path}/{uploaded.json()['id']}/content")
    assert content.content == PNG
    assert content.headers["content-type"] == "image/png"
    assert content.headers["x-content-type-options"] == "nosniff"

    exe = await api.post(BOB, path, files={"file": ("setup.png", b"MZ\x90\x00\xff\xfe" * 10, "image/png")})
    assert (exe.status_code, exe.json()["error_id"]) == (422, "invalid-input")
    too_big = await api.post(
        BOB, path, files={"file": ("big.txt", b"a" * (MAX_ATTACHMENT_BYTES + 1), "text/plain")}
    )
    assert too_big.status_code in (413, 422)
    no_file = await api.post(BOB, path, files={"other": ("x.txt", b"hello", "text/plain")})
    assert no_file.status_code == 422

    _recording(api, dupont, "rec-dupont")
    _recording(api, peeters, "rec-peeters")
    await _cdr(api, dupont, "call-dupont")
    await _cdr(api, peeters, "call-peeters")
    own_record = await _record_id(api, DUPONT, "call-dupont")
    other_record = await _record_id(api, PEETERS, "call-peeters")
    links = f"{path}/links"
    assert (
        await api.post(OPERATOR, links, json={"kind": "call_recording", "target_id": "rec-dupont"})
    ).status_code == 201
    assert (
        await api.post(BOB, links, json={"kind": "call_record", "target_id": own_record})
    ).status_code == 201
    assert (
        await api.post(OPERATOR, links, json={"kind": "call_recording", "target_id": "rec-peeters"})
    ).status_code == 404
    assert (
        await api.post(OPERATOR, links, json={"kind": "call_record", "target_id": other_record})
    ).status_code == 404
    again = await api.post(BOB, links, json={"kind": "call_record", "target_id": own_record})
    assert again.status_code == 409

    listed = (await api.get(DUPONT, path)).json()["items"]
    assert sorted(a["kind"] for a in listed) == ["call_record", "call_recording", "file"]
    assert (await api.get(PEETERS, path)).status_code == 404
    assert (await api.post(PEETERS, path, files={"file": ("x.png", PNG, "image/png")})).status_code == 404
    assert (await api.get(PEETERS, f"{path}/{uploaded.json()['id']}/content")).status_code == 404

    # Bob hears of the opening and of the recording the desk attached; not of his own uploads
    with api.platform.uow() as uow:
        mails = uow.support.mails.list(ticket_id=ticket["id"])
    assert [m.recipient for m in mails] == [BOB, BOB]
    assert all(m.subject.startswith(f"[#{ticket['id']}]") for m in mails)


@pytest.mark.rule("SUP-1")
async def test_the_requester_hears_of_a_ticket_at_the_right_address(api: Api) -> None:
    api.platform.clock.set(NOW)  # type: ignore[attr-defined]
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    body = {"category": "other", "subject": "Question", "description": "How do I forward calls?"}
    by_partner = await api.post("demo-bruvoice", "/tickets", json={**body, "account_id": peeters})
    by_desk = await api.post(OPERATOR, "/tickets", json={**body, "account_id": dupont, "channel": "phone"})
    with api.platform.uow() as uow:
        partner = uow.parties.get(api.party_id(PartyKind.PARTNER, "Brussels Voice Partners"))
        customer = uow.parties.get(dupont)
        to_partner = [m.recipient for m in uow.support.mails.list(ticket_id=by_partner.json()["id"])]
        to_customer = [m.recipient for m in uow.support.mails.list(ticket_id=by_desk.json()["id"])]
    assert to_partner == [partner.email]  # the partner that opened it for its customer
    assert to_customer == [customer.email]  # a call the desk recorded: the account's address
