"""SIP-3 customer trunks and CFG-13 hot-desking, end to end: the wired SIP plane over the demo
data, SIPp playing the customer's PBX, the shared phone and the carrier.

A PBX connects by IP (its address is its credential) or by registration (digest); its numbers
ring it, its calls go out with the caller ID it presents when that number is the account's
(SIP-2), asserted to the carrier in P-Asserted-Identity (RFC 3325), and its emergency calls
present the trunk's emergency number (EMG-2). A shared phone takes the identity of the user who
logs in on it with a feature code and PIN; its emergency caller ID stays its own (EMG-3).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.model import Trunk, TrunkAuth
from nuage.services.access import hash_secret
from nuage.services.context import Context
from nuage.services.directory.numbers import add_number, assign_number
from nuage.services.directory.trunks import TrunkChanges, add_trunk, update_trunk
from nuage.services.tenancy import set_status
from nuage.storage.sql import tables
from nuage.tenancy.model import PartyKind, PartyStatus

from .test_demo_calls import answering, demo_sip, free_port, register, sipp

SCENARIOS = Path(__file__).resolve().parents[3] / "examples" / "sipp"

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]

__all__ = ["demo_sip"]


def _runtime(platform: Platform) -> SipRuntime:
    assert platform.sip is not None
    return platform.sip


def _dupont(platform: Platform) -> str:
    with platform.uow() as uow:
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
    assert party is not None
    return party.id


async def _reload(platform: Platform) -> None:
    runtime = _runtime(platform)
    await runtime.directory.reload()
    await runtime.policy_state.reload()


def _numbers(platform: Platform, account_id: str, *e164s: str) -> list[str]:
    """Add numbers to the account; their ids."""
    ctx = Context.operator("op-test", platform.clock)
    with platform.uow() as uow:
        ids = [add_number(uow, ctx, account_id, e164).id for e164 in e164s]
        uow.commit()
    return ids


def _trunk(platform: Platform, account_id: str, auth: TrunkAuth, **fields: str) -> Trunk:
    """A trunk of the account; ``number`` is routed to it, ``emergency`` is its EMG-2 number."""
    number = fields.pop("number")
    emergency = fields.pop("emergency", None)
    ctx = Context.operator("op-test", platform.clock)
    with platform.uow() as uow:
        trunk = add_trunk(uow, ctx, account_id, "Office PBX", auth, **fields)  # type: ignore[arg-type]
        routed = add_number(uow, ctx, account_id, number)
        assign_number(uow, ctx, routed.id, trunk_id=trunk.id)
        if emergency is not None:
            line = add_number(uow, ctx, account_id, emergency)
            trunk = update_trunk(uow, ctx, trunk.id, TrunkChanges(emergency_number_id=line.id))
        uow.commit()
    return trunk


def _messages(trace: Path) -> str:
    return trace.read_text(errors="replace") if trace.exists() else ""


def _header(text: str, name: str) -> list[str]:
    prefix = name.lower() + ":"
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.lower().startswith(prefix)]


async def _pbx_call(sip_port: int, pbx_port: int, dialled: str, caller: str) -> None:
    await sipp(
        str(SCENARIOS / "pbx_call.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", dialled, "-key", "caller", caller, "-d", "300"),
        port=pbx_port,
    )


async def _refusal(sip_port: int, scenario: str, port: int, tmp_path: Path, *args: str) -> tuple[int, str]:
    """(status, Warning) of a call expected to be refused."""
    trace = tmp_path / f"refused-{free_port()}.log"
    await sipp(
        str(SCENARIOS / scenario),
        f"127.0.0.1:{sip_port}",
        *args,
        "-trace_msg",
        "-message_file",
        str(trace),
        port=port,
    )
    text = _messages(trace)
    final = [line for line in text.splitlines() if line.startswith("SIP/2.0 4") and " 407 " not in line]
    warnings = _header(text, "warning")
    assert final, text[-2000:]
    assert warnings, text[-2000:]
    return int(final[-1].split()[1]), warnings[-1]


async def _carrier_sees(carrier_port: int, tmp_path: Path, place: object) -> str:
    """Run the call ``place`` (an awaitable) while a SIPp carrier answers; the INVITE it received."""
    trace = tmp_path / f"carrier-{free_port()}.log"
    carrier = await answering(carrier_port, "-trace_msg", "-message_file", str(trace))
    await place  # type: ignore[misc]
    await carrier
    text = _messages(trace)
    assert "INVITE sip:" in text, text[-2000:]
    return text[text.index("INVITE sip:") :].split("\n\n", 1)[0]


@pytest.mark.rule("SIP-3")
@pytest.mark.rule("SIP-2")
@pytest.mark.rule("EMG-2")
async def test_a_pbx_connected_by_ip_calls_out_is_called_and_reaches_112(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    dupont = _dupont(platform)
    pbx_port = free_port()
    trunk = _trunk(
        platform,
        dupont,
        TrunkAuth.IP,
        allowed_ips=f"127.0.0.1:{pbx_port}",
        number="+3223000150",
        emergency="+3223000151",
    )
    await _reload(platform)

    invite = await _carrier_sees(
        carrier_port, tmp_path, _pbx_call(sip_port, pbx_port, "0475123456", "+3223000150")
    )
    assert invite.startswith("INVITE sip:+32475123456@")
    assert "+3223000150@" in _header(invite, "p-asserted-identity")[0]  # RFC 3325, the PBX's number
    assert "+3223000150@" in _header(invite, "from")[0]
    invite = await _carrier_sees(  # another number of the account, in national form
        carrier_port, tmp_path, _pbx_call(sip_port, pbx_port, "0475123456", "023000151")
    )
    assert "+3223000151@" in _header(invite, "p-asserted-identity")[0]  # presented in E.164

    status, warning = await _refusal(
        sip_port, "pbx_refused.xml", pbx_port, tmp_path, "-s", "0475123456", "-key", "caller", "+3299999999"
    )
    assert status == 403
    assert '"SIP-2 ' in warning  # a trunk is held to the caller-ID rule too

    invite = await _carrier_sees(carrier_port, tmp_path, _pbx_call(sip_port, pbx_port, "112", "+3223000150"))
    assert "+3223000151@" in _header(invite, "p-asserted-identity")[0]  # EMG-2: the trunk's emergency number

    trace = tmp_path / "pbx.log"
    pbx = await answering(pbx_port, "-trace_msg", "-message_file", str(trace))
    await sipp(
        str(SCENARIOS / "carrier_call.xml"), f"127.0.0.1:{sip_port}", "-s", "+3223000150", port=carrier_port
    )
    await pbx
    assert f"INVITE sip:+3223000150@127.0.0.1:{pbx_port}" in _messages(trace)  # the number rings the PBX

    await _runtime(platform).server.cdr_writer.flush()
    with platform.engine.connect() as connection:
        rows = connection.execute(
            select(
                tables.cdrs.c.callee, tables.cdrs.c.direction, tables.cdrs.c.outcome, tables.cdrs.c.emergency
            )
            .where(tables.cdrs.c.trunk_id == trunk.id)
            .order_by(tables.cdrs.c.started_at)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("+32475123456", "outbound", "answered", False),
        ("+32475123456", "outbound", "answered", False),
        ("+32475123456", "outbound", "refused", False),
        ("112", "outbound", "answered", True),
        ("+3223000150", "inbound", "answered", False),
    ]


@pytest.mark.rule("SIP-3")
async def test_a_pbx_connected_by_registration_is_called_on_its_number_and_calls_out(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    dupont = _dupont(platform)
    trunk = _trunk(platform, dupont, TrunkAuth.REGISTRATION, sip_username="dupont-pbx", number="+3223000152")
    assert trunk.sip_password
    await _reload(platform)
    pbx_port = free_port()
    await register(sip_port, "dupont-pbx", trunk.sip_password, pbx_port)

    trace = tmp_path / "pbx.log"
    pbx = await answering(pbx_port, "-trace_msg", "-message_file", str(trace))
    await sipp(
        str(SCENARIOS / "carrier_call.xml"), f"127.0.0.1:{sip_port}", "-s", "+3223000152", port=carrier_port
    )
    await pbx
    assert "INVITE sip:+3223000152@" in _messages(trace)  # the DID in the Request-URI, for the PBX to route

    call = sipp(
        str(SCENARIOS / "held_call.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", "0475123456", "-au", "dupont-pbx", "-ap", trunk.sip_password),
        *("-key", "caller", "+3223000152", "-d", "300"),
        port=free_port(),
    )
    invite = await _carrier_sees(carrier_port, tmp_path, call)
    assert "+3223000152@" in _header(invite, "p-asserted-identity")[0]


@pytest.mark.rule("CFG-13")
@pytest.mark.rule("EMG-3")
async def test_a_user_logs_in_on_a_shared_phone_which_then_calls_and_rings_as_that_user(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    dupont = _dupont(platform)
    (phone_number,) = _numbers(platform, dupont, "+3223000160")  # where the shared phone stands
    with platform.uow() as uow:
        shared = next(dv for dv in uow.devices.list() if dv.hot_desk and dv.account_id == dupont)
        uow.devices.update(
            replace(
                shared,
                sip_username="hotdesk-test",
                sip_password="Shared-Phone-2026",
                emergency_number_id=phone_number,
            )
        )
        alice = uow.users.find_by(account_id=dupont, extension="211")
        assert alice is not None
        uow.users.update(replace(alice, hot_desk_pin_hash=hash_secret("2468")))
        uow.commit()
    await _reload(platform)
    phone_port = free_port()
    await register(sip_port, "hotdesk-test", "Shared-Phone-2026", phone_port)
    login = ("-au", "hotdesk-test", "-ap", "Shared-Phone-2026", "-key", "caller", "hotdesk-test")

    status, warning = await _refusal(
        sip_port, "refused_call.xml", free_port(), tmp_path, "-s", "*11*211*1357", *login
    )
    assert status == 403
    assert '"CFG-13 ' in warning  # a wrong PIN (or extension) is refused, and says nothing more

    trace = tmp_path / "login.log"
    await sipp(
        str(SCENARIOS / "hot_desk.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", "*11*211*2468", *login, "-trace_msg", "-message_file", str(trace)),
        port=free_port(),
    )
    assert "Logged in: Alice Dupont" in _messages(trace)
    with platform.engine.connect() as connection:
        sessions = connection.execute(select(tables.hot_desk_sessions)).mappings().all()
    assert [(s["device_id"], s["user_id"]) for s in sessions] == [(shared.id, alice.id)]

    call = sipp(
        str(SCENARIOS / "held_call.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", "0475123456", *login, "-d", "300"),
        port=free_port(),
    )
    invite = await _carrier_sees(carrier_port, tmp_path, call)
    asserted = _header(invite, "p-asserted-identity")[0]
    assert "+3223000100@" in asserted
    assert "Alice Dupont" in asserted

    call = sipp(
        str(SCENARIOS / "held_call.xml"), f"127.0.0.1:{sip_port}", "-s", "112", *login, port=free_port()
    )
    invite = await _carrier_sees(carrier_port, tmp_path, call)
    assert "+3223000160@" in _header(invite, "p-asserted-identity")[0]  # EMG-3: where the phone stands

    phone = await answering(phone_port)  # Alice's number rings the shared phone she sits at
    await sipp(
        str(SCENARIOS / "carrier_call.xml"), f"127.0.0.1:{sip_port}", "-s", "+3223000100", port=carrier_port
    )
    await phone

    await sipp(
        str(SCENARIOS / "hot_desk.xml"), f"127.0.0.1:{sip_port}", "-s", "*12", *login, port=free_port()
    )
    runtime = _runtime(platform)
    identity = await runtime.directory.find_account("hotdesk-test")
    assert identity is not None
    assert identity.user_id is None
    with platform.engine.connect() as connection:
        assert connection.execute(select(tables.hot_desk_sessions)).first() is None
    await runtime.directory.reload()  # the database agrees after a reload
    identity = await runtime.directory.find_account("hotdesk-test")
    assert identity is not None
    assert identity.user_id is None


@pytest.mark.rule("SIP-2")
@pytest.mark.rule("EMG-4")
async def test_a_withheld_caller_id_is_asserted_to_the_carrier_and_an_operator_listed_number_is_an_emergency(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    alice = ("-au", "alice", "-ap", "Alice-Demo-2026")
    call = sipp(
        str(SCENARIOS / "held_call.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", "0475123456", *alice, "-key", "caller", "anonymous", "-d", "300"),
        port=free_port(),
    )
    invite = await _carrier_sees(carrier_port, tmp_path, call)
    assert "anonymous@anonymous.invalid" in _header(invite, "from")[0]  # RFC 3325 §9.3
    assert _header(invite, "privacy") == ["id"]
    assert "+3223000100@" in _header(invite, "p-asserted-identity")[0]  # the carrier still knows

    with platform.engine.begin() as connection:  # the operator lists Child Focus as an emergency
        connection.execute(
            tables.emergency_numbers.insert().values(
                number="116000", label="Child Focus", created_at=platform.clock.now()
            )
        )
    await _reload(platform)
    call = sipp(
        str(SCENARIOS / "held_call.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", "116000", *alice, "-key", "caller", "anonymous", "-d", "300"),
        port=free_port(),
    )
    invite = await _carrier_sees(carrier_port, tmp_path, call)
    assert invite.startswith("INVITE sip:116000@")
    assert _header(invite, "privacy") == []  # never withheld from the emergency services
    await _runtime(platform).server.cdr_writer.flush()
    with platform.engine.connect() as connection:
        emergency = connection.execute(
            select(tables.cdrs.c.emergency).where(tables.cdrs.c.callee == "116000")
        ).scalar_one()
    assert emergency is True


@pytest.mark.rule("SIP-3")
@pytest.mark.rule("PAY-3")
async def test_a_suspended_accounts_pbx_reaches_112_and_nothing_else(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    dupont = _dupont(platform)
    pbx_port = free_port()
    _trunk(platform, dupont, TrunkAuth.IP, allowed_ips=f"127.0.0.1:{pbx_port}", number="+3223000153")
    with platform.uow() as uow:
        set_status(uow, Context.operator("op-test", platform.clock), dupont, PartyStatus.SUSPENDED, "unpaid")
        uow.commit()
    await _reload(platform)
    status, warning = await _refusal(
        sip_port, "pbx_refused.xml", pbx_port, tmp_path, "-s", "0475123456", "-key", "caller", "+3223000153"
    )
    assert status == 403
    assert '"PAY-3 ' in warning
    invite = await _carrier_sees(carrier_port, tmp_path, _pbx_call(sip_port, pbx_port, "112", "+3223000153"))
    assert "+3223000153@" in _header(invite, "p-asserted-identity")[0]
