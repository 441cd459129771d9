"""EMG-4: the emergency numbers: 112, 100 and 101 built in, and the short numbers the operator adds.

Every caller may read the list (it is public knowledge); only the operator edits it. The SIP data
plane reads the same table for its call policy.
"""

from __future__ import annotations

from nuage.directory.model import EmergencyNumber
from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.terms.emergency import (
    BUILT_IN_EMERGENCY_NUMBERS,
    EMERGENCY_NUMBERS,
    check_emergency_number,
    refuse_built_in_change,
)

KIND = "emergency number"


def built_in_emergency_numbers() -> list[EmergencyNumber]:
    """EMG-4: 112, 100 and 101, which nobody added (``created_at`` is None)."""
    return [EmergencyNumber(number, label, None) for number, label in BUILT_IN_EMERGENCY_NUMBERS.items()]


def list_emergency_numbers(uow: UnitOfWork, ctx: Context) -> list[EmergencyNumber]:
    """EMG-4: every emergency number, built in first, then the operator's by number."""
    return built_in_emergency_numbers() + uow.emergency_numbers.list(order_by=("number",))


def get_emergency_number(uow: UnitOfWork, ctx: Context, number: str) -> EmergencyNumber:
    """EMG-4: one emergency number, built in or added; NotFound otherwise."""
    if number in EMERGENCY_NUMBERS:
        return EmergencyNumber(number, BUILT_IN_EMERGENCY_NUMBERS[number], None)
    found = uow.emergency_numbers.find(number)
    if found is None:
        raise NotFound(KIND, number)
    return found


def _require_operator(ctx: Context) -> None:
    if not ctx.scope.is_operator:
        raise InvalidInput("number", "Only the operator edits the list of emergency numbers (EMG-4)")


def add_emergency_number(uow: UnitOfWork, ctx: Context, number: str, label: str) -> EmergencyNumber:
    """EMG-4: the operator adds an urgent short number; no extension of any account may be that number."""
    _require_operator(ctx)
    number = check_emergency_number(number)
    cleaned_label = label.strip()
    if not cleaned_label or len(cleaned_label) > 200:
        raise InvalidInput("label", "label must have 1 to 200 characters")
    if uow.emergency_numbers.find(number) is not None:
        raise Conflict(f"{number} is already an emergency number", field="number")
    holders = uow.users.list(extension=number, order_by=("created_at", "id"))
    if holders:
        # EMG-4 decision: refused rather than added with a warning, so a dialled number never
        # means two things; the operator has the extension changed first.
        names = []
        for user in holders:
            account = uow.parties.find(user.account_id)
            names.append(f"{user.name} ({account.name if account else user.account_id})")
        raise TermViolation(
            "EMG-4",
            f"{number} is the extension of {', '.join(names)}: change that extension first, "
            "since an extension may not shadow an emergency number",
            number=number,
            user_id=holders[0].id,
            account_id=holders[0].account_id,
        )
    added = EmergencyNumber(number, cleaned_label, ctx.clock.now())
    uow.emergency_numbers.add(added)
    return added


def remove_emergency_number(uow: UnitOfWork, ctx: Context, number: str) -> None:
    """EMG-4: the operator removes a short number it added; 112, 100 and 101 stay, always."""
    _require_operator(ctx)
    refuse_built_in_change(number, "removed")
    uow.emergency_numbers.remove(get_emergency_number(uow, ctx, number).number)
