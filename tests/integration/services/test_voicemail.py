"""Voicemail boxes and messages (issue #16): the use cases on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuage.bootstrap import Platform
from nuage.directory.voicemail import BoxSettings, Folder, VoicemailMessage
from nuage.errors import Conflict, InvalidInput, NotFound
from nuage.services import tenancy as t
from nuage.services import voicemail as vm
from nuage.services.context import Context
from nuage.services.directory.users import add_user
from nuage.shared.ids import new_id


@pytest.fixture
def office(platform: Platform) -> dict[str, str]:
    with platform.uow() as uow:
        op = t.create_operator(uow, Context.operator("-", platform.clock), "Operator")
        ctx = Context.operator(op.id, platform.clock)
        account = t.create_customer(uow, ctx, "Cabinet Claes").id
        other = t.create_customer(uow, ctx, "Garage Janssens").id
        ids = {"op": op.id, "account": account, "other": other}
        ids["ann"] = add_user(uow, ctx, account, "Ann Claes", extension="301", email="ann@claes.example").id
        ids["tom"] = add_user(uow, ctx, account, "Tom Claes", extension="302").id
        uow.commit()
    return ids


def ctx_of(platform: Platform, party_id: str) -> Context:
    with platform.uow() as uow:
        return Context(t.scope_of(uow, party_id), platform.clock)


def _message(
    box_id: str, account_id: str, platform: Platform, age: timedelta = timedelta()
) -> VoicemailMessage:
    return VoicemailMessage(
        id=new_id("vmm"),
        box_id=box_id,
        account_id=account_id,
        caller="302",
        received_at=platform.clock.now() - age,
        duration_ms=4200,
        size_bytes=12000,
        caller_name="Tom Claes",
    )


def test_a_users_box_takes_the_users_extension_email_and_a_hashed_pin(
    platform: Platform, office: dict[str, str]
) -> None:
    ctx = ctx_of(platform, office["account"])
    with platform.uow() as uow:
        box = vm.create_box(uow, ctx, office["account"], user_id=office["ann"], language="fr")
        vm.set_pin(uow, ctx, box.id, "5829")
        uow.commit()
    with platform.uow() as uow:
        stored = vm.get_box(uow, ctx, box.id)
        assert (stored.number, stored.email, stored.language, stored.name) == (
            "301",
            "ann@claes.example",
            "fr",
            "Ann Claes",
        )
        assert stored.pin_hash is not None
        assert "5829" not in stored.pin_hash
        assert vm.pin_opens(stored, "5829")
        assert not vm.pin_opens(stored, "5830")
        with pytest.raises(Conflict):
            vm.create_box(uow, ctx, office["account"], user_id=office["ann"])
        with pytest.raises(InvalidInput):
            vm.set_pin(uow, ctx, box.id, "1111")  # one digit repeated
        with pytest.raises(NotFound):  # TEN-4: another tenant's box is not found
            vm.get_box(uow, ctx_of(platform, office["other"]), box.id)


def test_a_shared_box_has_members_and_settings(platform: Platform, office: dict[str, str]) -> None:
    ctx = ctx_of(platform, office["account"])
    with platform.uow() as uow:
        box = vm.create_box(
            uow,
            ctx,
            office["account"],
            name="Reception",
            number="800",
            members=(office["ann"], office["tom"]),
        )
        box = vm.update_box(uow, ctx, box.id, BoxSettings(retention_days=7, email="desk@claes.example"))
        uow.commit()
    with platform.uow() as uow:
        stored = vm.get_box(uow, ctx, box.id)
        assert stored.watchers() == (office["ann"], office["tom"])
        assert stored.retention_days == 7
        assert stored.email == "desk@claes.example"
        assert [b.number for b in vm.list_boxes(uow, ctx, office["account"])] == ["800"]
        with pytest.raises(InvalidInput):
            vm.update_box(uow, ctx, box.id, BoxSettings(retention_days=0))


def test_messages_go_from_new_to_old_and_expire_with_the_retention(
    platform: Platform, office: dict[str, str]
) -> None:
    ctx = ctx_of(platform, office["account"])
    with platform.uow() as uow:
        box = vm.create_box(uow, ctx, office["account"], user_id=office["ann"])
        box = vm.update_box(uow, ctx, box.id, BoxSettings(retention_days=10))
        old = vm.add_message(uow, box, _message(box.id, box.account_id, platform, timedelta(days=11)))
        fresh = vm.add_message(uow, box, _message(box.id, box.account_id, platform))
        uow.commit()
    with platform.uow() as uow:
        assert vm.counts(uow, box.id).new == 2
        vm.mark_heard(uow, ctx, fresh.id)
        uow.commit()
    with platform.uow() as uow:
        counts = vm.counts(uow, box.id)
        assert (counts.new, counts.old, counts.waiting) == (1, 1, True)
        assert [m.id for m in vm.list_messages(uow, ctx, box.id)] == [old.id, fresh.id]
        assert [m.id for m in vm.list_messages(uow, ctx, box.id, Folder.OLD)] == [fresh.id]
        removed = vm.expired_messages(uow, platform.clock.now())
        uow.commit()
    assert [m.id for _, m in removed] == [old.id]
    with platform.uow() as uow:
        with pytest.raises(NotFound):
            vm.delete_message(uow, ctx_of(platform, office["other"]), fresh.id)
        vm.delete_message(uow, ctx, fresh.id)
        uow.commit()
    with platform.uow() as uow:
        assert vm.counts(uow, box.id) == vm.counts(uow, "nothing")
