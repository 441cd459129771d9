"""Portal security over real storage (SQLite and PostgreSQL): TOTP second factors (RFC 6238),
recovery codes, password-reset tokens and the audit log's scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nuage.bootstrap import Platform
from nuage.directory.model import Role
from nuage.errors import InvalidInput, NotFound
from nuage.services import access
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.security import audit_log, resets
from nuage.services.security import second_factor as second
from nuage.services.security.demo import DEMO_SECRETS, seed_demo_factors
from nuage.services.tenancy import scope_of
from nuage.shared.clock import FrozenClock
from nuage.tenancy.model import PartyKind

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238 appendix B's SHA-1 seed, "12345678901234567890"


def test_codes_follow_rfc_6238_within_one_step_and_never_twice() -> None:
    # RFC 6238 appendix B: T=59 s gives 94287082 with 8 digits; the apps show its last 6
    at = datetime.fromtimestamp(59, UTC)
    assert second.code_at(RFC_SECRET, at) == "287082"
    assert second.code_at(RFC_SECRET, datetime.fromtimestamp(1111111109, UTC)) == "081804"
    step = 59 // 30
    assert second.matching_step(RFC_SECRET, "287082", at, 0) == step
    assert second.matching_step(RFC_SECRET, "287082", at + timedelta(seconds=30), 0) == step  # a step late
    assert second.matching_step(RFC_SECRET, "287082", at + timedelta(seconds=90), 0) is None  # too late
    assert second.matching_step(RFC_SECRET, "287082", at, step) is None  # used: replay refused
    assert second.matching_step(RFC_SECRET, "28708", at, 0) is None
    assert second.matching_step(RFC_SECRET, "abcdef", at, 0) is None
    uri = second.otpauth_uri(RFC_SECRET, "olivia@nuage.example", "Nuage")
    assert uri.startswith("otpauth://totp/Nuage:olivia%40nuage.example?secret=" + RFC_SECRET)


def _demo(platform: Platform) -> dict[str, str]:
    with platform.uow() as uow:
        load_demo(uow, platform.clock, uow.access)
        seed_demo_factors(uow, platform.clock.now())
        uow.commit()
        return {u.email: u.id for u in uow.users.list() if u.email}


def test_enrolment_recovery_codes_and_replay(platform: Platform, clock: FrozenClock) -> None:
    users = _demo(platform)
    alice = users["alice@dupont.example"]
    with platform.uow() as uow:
        party = uow.parties.get(uow.users.get(alice).account_id)
        ctx = Context(scope_of(uow, party.id), clock)
        assert second.factor_of(uow, alice) is None
        assert not second.required_for(uow.users.get(alice), party)  # a customer's administrator: optional
        secret = second.new_secret()
        with pytest.raises(InvalidInput):
            second.enable(
                uow, ctx, alice, secret, "000000" if second.code_at(secret, clock.now()) != "000000" else "1"
            )
        codes = second.enable(uow, ctx, alice, secret, second.code_at(secret, clock.now()))
        uow.commit()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    clock.advance(timedelta(seconds=30))
    with platform.uow() as uow:
        factor = second.factor_of(uow, alice)
        assert factor is not None
        assert codes[0] not in factor.recovery_hashes
        now_code = second.code_at(secret, clock.now())
        assert second.check(uow, alice, now_code, clock.now())
        uow.commit()
    with platform.uow() as uow:
        assert not second.check(uow, alice, now_code, clock.now())  # the same code again
        assert second.check(uow, alice, codes[3].upper().replace("-", " "), clock.now())
        uow.commit()
    with platform.uow() as uow:
        assert not second.check(uow, alice, codes[3], clock.now())  # a recovery code works once
        assert len(second.factor_of(uow, alice).recovery_hashes) == 9  # type: ignore[union-attr]
        second.disable(uow, Context(scope_of(uow, party.id), clock), alice)
        uow.commit()
        assert second.factor_of(uow, alice) is None


def test_operator_and_partner_administrators_must_keep_their_second_factor(platform: Platform) -> None:
    users = _demo(platform)
    with platform.uow() as uow:
        olivia = uow.users.get(users["olivia@nuage.example"])
        factor = second.factor_of(uow, olivia.id)
        assert factor is not None
        assert factor.secret == DEMO_SECRETS[olivia.email or ""]
        operator = uow.parties.get(olivia.account_id)
        assert second.required_for(olivia, operator)
        with pytest.raises(InvalidInput):
            second.disable(uow, Context.operator(operator.id, platform.clock), olivia.id)
        again = seed_demo_factors(uow, platform.clock.now())  # idempotent
        assert {f.email for f in again} == set(DEMO_SECRETS)


def test_a_reset_token_is_single_use_expires_and_follows_the_password_policy(
    platform: Platform, clock: FrozenClock
) -> None:
    users = _demo(platform)
    with platform.uow() as uow:
        assert resets.request_reset(uow, "nobody@nowhere.example", clock.now()) is None
        found = resets.request_reset(uow, " Bob@Dupont.example ", clock.now())
        assert found is not None
        user, first = found
        _, token = resets.request_reset(uow, "bob@dupont.example", clock.now()) or (None, "")
        uow.commit()
    assert user.id == users["bob@dupont.example"]
    with platform.uow() as uow:
        assert resets.live_token(uow, first, clock.now()) is None  # replaced by the newer link
        assert uow.security.resets.find(token) is None  # stored as a digest only
        with pytest.raises(InvalidInput):
            resets.reset_password(uow, token, "password1", clock.now())  # the policy says no
    with platform.uow() as uow:
        before = uow.users.get(user.id).token_generation
        changed = resets.reset_password(uow, token, "Violet-Harbour-Lantern-77", clock.now())
        uow.commit()
    assert changed.token_generation == before + 1  # the sessions and tokens end
    with platform.uow() as uow:
        assert access.authenticate_user(uow, "bob@dupont.example", "Violet-Harbour-Lantern-77") is not None
        with pytest.raises(InvalidInput):
            resets.reset_password(uow, token, "Another-Harbour-Lantern-78", clock.now())  # used
        _, late = resets.request_reset(uow, "bob@dupont.example", clock.now()) or (None, "")
        uow.commit()
    clock.advance(resets.RESET_TTL)
    with platform.uow() as uow:
        assert resets.live_token(uow, late, clock.now()) is None  # expired after 30 minutes


def test_the_audit_log_is_every_accounts_for_the_operator_and_its_own_for_an_administrator(
    platform: Platform, clock: FrozenClock
) -> None:
    users = _demo(platform)
    with platform.uow() as uow:
        customers = {p.name: p.id for p in uow.parties.list(kind=PartyKind.CUSTOMER.value)}
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        assert operator is not None
        dupont, peeters = customers["Atelier Dupont"], customers["Bakkerij Peeters"]
        bob = users["bob@dupont.example"]
        # the operator changes one of Dupont's users: the event concerns Dupont's account
        assert audit_log.account_of_path(uow, f"/api/v1/users/{bob}", operator.id) == dupont
        assert audit_log.account_of_path(uow, f"/api/v1/customers/{peeters}/users", operator.id) == peeters
        assert audit_log.account_of_path(uow, "/api/v1/users/usr_unknown", operator.id) == operator.id
        for actor, actor_account, account, action in (
            (users["olivia@nuage.example"], operator.id, dupont, f"PATCH /api/v1/users/{bob}"),
            (users["jan@peeters.example"], peeters, peeters, "POST /users"),
            (users["alice@dupont.example"], dupont, dupont, "login"),
        ):
            audit_log.record(
                uow,
                at=clock.now(),
                actor_id=actor,
                actor_kind="user",
                actor_account_id=actor_account,
                account_id=account,
                action=action,
                address="192.0.2.7",
            )
            clock.advance(timedelta(seconds=1))
        uow.commit()
    with platform.uow() as uow:
        every = audit_log.readable_events(uow, Context.operator(operator.id, clock), Role.ADMINISTRATOR)
        own = audit_log.readable_events(uow, Context(scope_of(uow, dupont), clock), Role.ADMINISTRATOR)
        with pytest.raises(NotFound):
            audit_log.readable_events(uow, Context(scope_of(uow, dupont), clock), Role.USER)
        older = audit_log.readable_events(
            uow, Context.operator(operator.id, clock), Role.ADMINISTRATOR, before=(every[0].at, every[0].id)
        )
    assert [e.action for e in every] == ["login", "POST /users", f"PATCH /api/v1/users/{bob}"]  # newest first
    assert [e.action for e in own] == ["login", f"PATCH /api/v1/users/{bob}"]
    assert {e.address for e in own} == {"192.0.2.7"}
    assert [e.action for e in older] == ["POST /users", f"PATCH /api/v1/users/{bob}"]
