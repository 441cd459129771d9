"""EMG-4: the operator's emergency numbers on the in-memory unit of work."""

from __future__ import annotations

import pytest

from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.services import emergency as e
from nuage.services import tenancy as t
from nuage.services.context import Context
from nuage.services.directory.users import UserChanges, add_user, update_user
from nuage.tenancy.model import Party
from platforms import MemoryPlatform


@pytest.fixture
def world(platform: MemoryPlatform) -> dict[str, Party]:
    """An operator and one customer."""
    with platform.uow() as uow:
        op = t.create_operator(uow, Context.operator("-", platform.clock), "Operator")
        ctx = Context.operator(op.id, platform.clock)
        customer = t.create_customer(uow, ctx, "Boulangerie Leroy")
        uow.commit()
    return {"op": op, "customer": customer}


def op_ctx(platform: MemoryPlatform, world: dict[str, Party]) -> Context:
    return Context.operator(world["op"].id, platform.clock)


def customer_ctx(platform: MemoryPlatform, world: dict[str, Party]) -> Context:
    with platform.uow() as uow:
        return Context(t.scope_of(uow, world["customer"].id), platform.clock)


@pytest.mark.rule("EMG-4")
def test_the_operator_adds_and_removes_urgent_short_numbers_beside_the_built_in_ones(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    with platform.uow() as uow:
        e.add_emergency_number(uow, ctx, "1733", "Doctor on duty")
        e.add_emergency_number(uow, ctx, "116000", "Missing children")
        uow.commit()
    with platform.uow() as uow:
        listed = [(n.number, n.label) for n in e.list_emergency_numbers(uow, customer_ctx(platform, world))]
        assert listed == [
            ("112", "European emergency number"),
            ("100", "Ambulance and fire brigade"),
            ("101", "Police"),
            ("116000", "Missing children"),
            ("1733", "Doctor on duty"),
        ]
        assert e.get_emergency_number(uow, ctx, "1733").created_at == platform.clock.now()
        assert e.get_emergency_number(uow, ctx, "112").created_at is None
        e.remove_emergency_number(uow, ctx, "1733")
        uow.commit()
    with platform.uow() as uow:
        with pytest.raises(NotFound):
            e.get_emergency_number(uow, ctx, "1733")
        with pytest.raises(NotFound):
            e.remove_emergency_number(uow, ctx, "1733")


@pytest.mark.rule("EMG-4")
@pytest.mark.parametrize("number", ["112", "100", "101"])
def test_the_built_in_numbers_can_be_neither_added_nor_removed(
    platform: MemoryPlatform, world: dict[str, Party], number: str
) -> None:
    ctx = op_ctx(platform, world)
    with platform.uow() as uow:
        with pytest.raises(TermViolation, match="built-in emergency number and cannot be added") as added:
            e.add_emergency_number(uow, ctx, number, "Again")
        assert added.value.rule_id == "EMG-4"
        with pytest.raises(TermViolation, match="cannot be removed") as removed:
            e.remove_emergency_number(uow, ctx, number)
        assert removed.value.rule_id == "EMG-4"


@pytest.mark.rule("EMG-4")
@pytest.mark.parametrize(("number", "field"), [("1", "number"), ("17a3", "number"), ("1" * 16, "number")])
def test_an_emergency_number_is_2_to_15_digits(
    platform: MemoryPlatform, world: dict[str, Party], number: str, field: str
) -> None:
    with platform.uow() as uow:
        with pytest.raises(InvalidInput) as refused:
            e.add_emergency_number(uow, op_ctx(platform, world), number, "Bad")
        assert refused.value.field == field


@pytest.mark.rule("EMG-4")
def test_a_number_is_added_once_and_only_by_the_operator(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    with platform.uow() as uow:
        e.add_emergency_number(uow, op_ctx(platform, world), "1813", "Suicide line")
        with pytest.raises(Conflict):
            e.add_emergency_number(uow, op_ctx(platform, world), "1813", "Twice")
        with pytest.raises(InvalidInput, match="Only the operator"):
            e.add_emergency_number(uow, customer_ctx(platform, world), "106", "Tele-Onthaal")
        with pytest.raises(InvalidInput, match="Only the operator"):
            e.remove_emergency_number(uow, customer_ctx(platform, world), "1813")


@pytest.mark.rule("EMG-4")
def test_no_extension_shadows_an_emergency_number_either_way(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    account = world["customer"].id
    with platform.uow() as uow:
        e.add_emergency_number(uow, ctx, "1733", "Doctor on duty")
        with pytest.raises(TermViolation) as created:
            add_user(uow, ctx, account, "Shadow", extension="1733")
        assert created.value.rule_id == "EMG-4"
        assert created.value.details["field"] == "extension"
        user = add_user(uow, ctx, account, "Marie Leroy", extension="107")
        with pytest.raises(TermViolation) as changed:
            update_user(uow, ctx, user.id, UserChanges(extension="1733"))
        assert changed.value.rule_id == "EMG-4"
        # the other way round: the extension was there first, so the number is refused, naming her
        with pytest.raises(
            TermViolation, match=r"107 is the extension of Marie Leroy \(Boulangerie Leroy\)"
        ) as shadowed:
            e.add_emergency_number(uow, ctx, "107", "Tele-Onthaal")
        assert shadowed.value.rule_id == "EMG-4"
        assert shadowed.value.details["user_id"] == user.id
        update_user(uow, ctx, user.id, UserChanges(extension="207"))
        e.add_emergency_number(uow, ctx, "107", "Tele-Onthaal")
        uow.commit()
