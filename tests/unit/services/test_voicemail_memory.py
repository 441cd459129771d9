"""Voicemail boxes and messages on the in-memory unit of work (the store contract, as on SQL)."""

from __future__ import annotations

import pytest

from nuage.directory.voicemail import Folder, VoicemailMessage
from nuage.errors import Conflict, NotFound
from nuage.services import tenancy as t
from nuage.services import voicemail as vm
from nuage.services.context import Context
from nuage.services.directory.users import add_user
from platforms import MemoryPlatform


def test_a_box_its_pin_and_its_messages_in_memory(platform: MemoryPlatform) -> None:
    with platform.uow() as uow:
        op = t.create_operator(uow, Context.operator("-", platform.clock), "Operator")
        ctx = Context.operator(op.id, platform.clock)
        account = t.create_customer(uow, ctx, "Cabinet Claes").id
        other = t.create_customer(uow, ctx, "Garage Janssens").id
        ann = add_user(uow, ctx, account, "Ann Claes", extension="301").id
        box = vm.create_box(uow, ctx, account, user_id=ann)
        vm.set_pin(uow, ctx, box.id, "5829")
        message = vm.add_message(
            uow,
            box,
            VoicemailMessage("vmm-1", box.id, account, "302", platform.clock.now(), 2000, 900),
        )
        uow.commit()
    with platform.uow() as uow:
        stored = uow.voicemail_boxes.get(box.id)
        assert vm.pin_opens(stored, "5829")
        assert stored.number == "301"
        with pytest.raises(Conflict):
            vm.create_box(uow, ctx, account, user_id=ann)
        assert vm.counts(uow, box.id).new == 1
        assert vm.mark_heard(uow, ctx, message.id).folder is Folder.OLD
        with pytest.raises(NotFound):
            vm.get_message(uow, Context(t.scope_of(uow, other), platform.clock), message.id)
        uow.commit()
    with platform.uow() as uow:
        assert (vm.counts(uow, box.id).new, vm.counts(uow, box.id).old) == (0, 1)
