"""CFG-13 hot-desking, the control plane, on the in-memory unit of work."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuage.directory.model import DeviceKind, Role
from nuage.errors import InvalidInput, NotFound, TermViolation
from nuage.services import hot_desk as h
from nuage.services import tenancy as t
from nuage.services.access import verify_secret
from nuage.services.context import Context
from nuage.services.directory.devices import DeviceChanges, add_device, remove_device, update_device
from nuage.services.directory.users import UserChanges, add_user, remove_user, update_user
from nuage.shared.clock import FrozenClock
from platforms import MemoryPlatform


@pytest.fixture
def office(platform: MemoryPlatform) -> dict[str, str]:
    """Two customers of one partner; the first has two shared phones, a desk phone and three users."""
    with platform.uow() as uow:
        op = t.create_operator(uow, Context.operator("-", platform.clock), "Operator")
        ctx = Context.operator(op.id, platform.clock)
        partner = t.create_partner(uow, ctx, "Partner")
        account = t.create_customer(uow, ctx, "Cabinet Claes", partner_id=partner.id).id
        other = t.create_customer(uow, ctx, "Garage Janssens").id
        ids = {"op": op.id, "partner": partner.id, "account": account, "other": other}
        ids["ann"] = add_user(uow, ctx, account, "Ann Claes", extension="301").id
        ids["tom"] = add_user(uow, ctx, account, "Tom Claes", extension="302").id
        ids["boss"] = add_user(uow, ctx, account, "Boss", role=Role.ADMINISTRATOR, no_service=True).id
        ids["desk1"] = add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Desk 1", hot_desk=True).id
        ids["desk2"] = add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Desk 2", hot_desk=True).id
        ids["fixed"] = add_device(
            uow, ctx, account, DeviceKind.DESK_PHONE, "Ann's phone", user_id=ids["ann"]
        ).id
        ids["elsewhere"] = add_device(uow, ctx, other, DeviceKind.DESK_PHONE, "Shared", hot_desk=True).id
        ids["stranger"] = add_user(uow, ctx, other, "Stranger", extension="401").id
        uow.commit()
    return ids


def ctx_of(platform: MemoryPlatform, party_id: str) -> Context:
    with platform.uow() as uow:
        return Context(t.scope_of(uow, party_id), platform.clock)


def op(platform: MemoryPlatform, office: dict[str, str]) -> Context:
    return Context.operator(office["op"], platform.clock)


# --- PINs ---------------------------------------------------------------------------------------------


@pytest.mark.rule("CFG-13")
def test_a_pin_is_stored_argon2_hashed_and_can_be_cleared(
    platform: MemoryPlatform, office: dict[str, str]
) -> None:
    with platform.uow() as uow:
        h.set_hot_desk_pin(uow, ctx_of(platform, office["account"]), office["ann"], "5829")
        uow.commit()
    with platform.uow() as uow:
        stored = uow.users.get(office["ann"]).hot_desk_pin_hash
        assert stored is not None
        assert stored.startswith("$argon2id$")
        assert "5829" not in stored
        assert verify_secret(stored, "5829")
        assert not verify_secret(stored, "5830")
        h.clear_hot_desk_pin(uow, op(platform, office), office["ann"])
        uow.commit()
    with platform.uow() as uow:
        assert uow.users.get(office["ann"]).hot_desk_pin_hash is None


@pytest.mark.rule("CFG-13")
@pytest.mark.parametrize(
    ("pin", "why"),
    [
        ("123", "4 to 8 digits"),
        ("123456789", "4 to 8 digits"),
        ("12a4", "4 to 8 digits"),
        ("٣٤٥٦", "4 to 8 digits"),  # digits, but not ASCII ones a phone can dial
        ("0000", "one digit repeated"),
        ("1234", "a run of digits"),
        ("4321", "a run of digits"),
        ("2468", "a run of digits"),
        ("987654", "a run of digits"),
        ("0301", None),
    ],
)
def test_a_pin_is_4_to_8_digits_that_are_not_guessed_at_once(
    platform: MemoryPlatform, office: dict[str, str], pin: str, why: str | None
) -> None:
    with platform.uow() as uow:
        if why is None:
            h.set_hot_desk_pin(uow, op(platform, office), office["ann"], pin)
            return
        with pytest.raises(InvalidInput, match=why) as refused:
            h.set_hot_desk_pin(uow, op(platform, office), office["ann"], pin)
        assert refused.value.field == "pin"


@pytest.mark.rule("CFG-13")
def test_a_pin_is_not_the_users_own_extension_and_a_no_service_user_has_none(
    platform: MemoryPlatform, office: dict[str, str]
) -> None:
    with platform.uow() as uow:
        update_user(uow, op(platform, office), office["ann"], UserChanges(extension="3017"))
        with pytest.raises(InvalidInput, match="own extension") as own:
            h.set_hot_desk_pin(uow, op(platform, office), office["ann"], "3017")
        assert own.value.field == "pin"
        with pytest.raises(TermViolation) as no_service:
            h.set_hot_desk_pin(uow, op(platform, office), office["boss"], "5829")
        assert no_service.value.rule_id == "CFG-2"


@pytest.mark.rule("TEN-4")
def test_another_tenants_user_pin_is_answered_like_a_missing_user(
    platform: MemoryPlatform, office: dict[str, str]
) -> None:
    with platform.uow() as uow:
        with pytest.raises(NotFound):
            h.set_hot_desk_pin(uow, ctx_of(platform, office["other"]), office["ann"], "5829")
        with pytest.raises(NotFound):
            h.clear_hot_desk_pin(uow, ctx_of(platform, office["other"]), office["ann"])


# --- sessions -----------------------------------------------------------------------------------------


@pytest.mark.rule("CFG-13")
def test_a_user_logs_in_on_a_shared_phone_until_the_timeout(
    platform: MemoryPlatform, office: dict[str, str]
) -> None:
    clock = platform.clock
    assert isinstance(clock, FrozenClock)
    ctx = ctx_of(platform, office["account"])
    with platform.uow() as uow:
        session = h.log_in(uow, ctx, office["desk1"], office["ann"])
        uow.commit()
    assert session.started_at == clock.now()
    assert session.expires_at == clock.now() + timedelta(hours=12)
    with platform.uow() as uow:
        assert h.get_hot_desk_session(uow, ctx, office["desk1"]) == session
        assert h.list_hot_desk_sessions(uow, ctx) == [session]
        clock.advance(timedelta(hours=12))
        assert h.list_hot_desk_sessions(uow, ctx) == []  # expired: over, as if logged out
        with pytest.raises(NotFound):
            h.get_hot_desk_session(uow, ctx, office["desk1"])


@pytest.mark.rule("CFG-13")
def test_a_user_is_on_one_shared_phone_and_a_phone_has_one_user(
    platform: MemoryPlatform, office: dict[str, str]
) -> None:
    ctx = ctx_of(platform, office["account"])
    with platform.uow() as uow:
        h.log_in(uow, ctx, office["desk1"], office["ann"], timeout=timedelta(hours=2))
        moved = h.log_in(uow, ctx, office["desk2"], office["ann"])  # logging in elsewhere ends desk 1
        assert h.list_hot_desk_sessions(uow, ctx) == [moved]
        taken = h.log_in(uow, ctx, office["desk2"], office["tom"])  # Tom takes desk 2 over
        assert h.list_hot_desk_sessions(uow, ctx) == [taken]
        assert h.list_hot_desk_sessions(uow, ctx, user_id=office["ann"]) == []
        h.log_in(uow, ctx, office["desk1"], office["ann"])
        assert {s.user_id for s in h.list_hot_desk_sessions(uow, ctx)} == {office["ann"], office["tom"]}
        h.log_out(uow, ctx, office["desk1"])
        assert h.list_hot_desk_sessions(uow, ctx) == [taken]
        with pytest.raises(NotFound):
            h.log_out(uow, ctx, office["desk1"])
        uow.commit()


@pytest.mark.rule("CFG-13")
def test_only_shared_phones_of_the_users_account_and_users_with_telephony(
    platform: MemoryPlatform, office: dict[str, str]
) -> None:
    ctx = op(platform, office)
    with platform.uow() as uow:
        with pytest.raises(TermViolation, match="not a shared phone") as fixed:
            h.log_in(uow, ctx, office["fixed"], office["tom"])
        assert fixed.value.rule_id == "CFG-13"
        with pytest.raises(TermViolation) as no_service:
            h.log_in(uow, ctx, office["desk1"], office["boss"])
        assert no_service.value.rule_id == "CFG-2"
        with pytest.raises(InvalidInput) as foreign:
            h.log_in(uow, ctx, office["elsewhere"], office["ann"])
        assert foreign.value.field == "user_id"
        assert h.list_hot_desk_sessions(uow, ctx) == []


@pytest.mark.rule("TEN-4")
def test_another_tenants_sessions_are_invisible(platform: MemoryPlatform, office: dict[str, str]) -> None:
    with platform.uow() as uow:
        mine = h.log_in(uow, ctx_of(platform, office["account"]), office["desk1"], office["ann"])
        theirs = h.log_in(uow, ctx_of(platform, office["other"]), office["elsewhere"], office["stranger"])
        uow.commit()
    outsider = ctx_of(platform, office["other"])
    partner = ctx_of(platform, office["partner"])
    with platform.uow() as uow:
        assert h.list_hot_desk_sessions(uow, outsider) == [theirs]
        assert h.list_hot_desk_sessions(uow, outsider, account_id=office["account"]) == []
        assert h.list_hot_desk_sessions(uow, partner) == [mine]
        assert h.list_hot_desk_sessions(uow, op(platform, office), account_id=office["other"]) == [theirs]
        assert len(h.list_hot_desk_sessions(uow, op(platform, office))) == 2
        for attempt in (
            lambda: h.get_hot_desk_session(uow, outsider, office["desk1"]),
            lambda: h.log_out(uow, outsider, office["desk1"]),
            lambda: h.log_in(uow, outsider, office["desk1"], office["ann"]),
        ):
            with pytest.raises(NotFound):
                attempt()


@pytest.mark.rule("CFG-13")
def test_removing_or_unsharing_a_phone_or_removing_its_user_logs_out(
    platform: MemoryPlatform, office: dict[str, str]
) -> None:
    ctx = op(platform, office)
    with platform.uow() as uow:
        h.log_in(uow, ctx, office["desk1"], office["ann"])
        h.log_in(uow, ctx, office["desk2"], office["tom"])
        update_device(uow, ctx, office["desk1"], DeviceChanges(hot_desk=False))
        assert [s.user_id for s in h.list_hot_desk_sessions(uow, ctx)] == [office["tom"]]
        remove_user(uow, ctx, office["tom"])
        assert h.list_hot_desk_sessions(uow, ctx) == []
        h.log_in(uow, ctx, office["desk2"], office["ann"])
        remove_device(uow, ctx, office["desk2"])
        assert h.list_hot_desk_sessions(uow, ctx) == []
        uow.commit()
