"""Numbers and number blocks (CFG-6, EMG-1): blocks with their premises' address, numbers, their routing."""

from __future__ import annotations

from dataclasses import replace

from nuage.directory.model import NumberBlock, NumberScope, PhoneNumber
from nuage.directory.rules import blocks_overlap, check_block_size, in_block
from nuage.errors import Conflict, InvalidInput
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.support.port_guard import refuse_change_while_porting
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id
from nuage.shared.phone import is_national, parse_e164


def add_number_block(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    first_e164: str,
    size: int,
    *,
    street: str | None = None,
    postal_code: str | None = None,
    city: str | None = None,
    country: str | None = None,
) -> NumberBlock:
    """CFG-6: a block of consecutive numbers; EMG-1: with the postal address of the premises."""
    get_customer(uow, ctx, account_id)
    first = parse_e164(first_e164, field="first_e164")
    check_block_size(size)
    for other in uow.number_blocks.list(account_id=account_id):
        if blocks_overlap(first, size, other.first_e164, other.size):
            raise Conflict(f"The block overlaps block {other.id}", field="first_e164")
    block = NumberBlock(
        id=new_id("blk"),
        account_id=account_id,
        first_e164=first,
        size=size,
        created_at=ctx.clock.now(),
        street=street,
        postal_code=postal_code,
        city=city,
        country=country.upper() if country else None,
        address_updated_on=ctx.clock.now().date() if street else None,
    )
    uow.number_blocks.add(block)
    return block


def update_number_block_address(
    uow: UnitOfWork, ctx: Context, block_id: str, *, street: str, postal_code: str, city: str, country: str
) -> NumberBlock:
    """EMG-1: keep the block's postal address up to date."""
    block = get_visible(uow.number_blocks, ctx, block_id)
    for field, value in (
        ("street", street),
        ("postal_code", postal_code),
        ("city", city),
        ("country", country),
    ):
        if not value.strip():
            raise InvalidInput(field, f"{field} is required for an emergency address (EMG-1)")
    updated = replace(
        block,
        street=street.strip(),
        postal_code=postal_code.strip(),
        city=city.strip(),
        country=country.strip().upper(),
        address_updated_on=ctx.clock.now().date(),
    )
    uow.number_blocks.update(updated)
    return updated


def remove_number_block(uow: UnitOfWork, ctx: Context, block_id: str) -> None:
    """CFG-6: remove an empty number block (EMG-1: numbers in it need its address)."""
    block = get_visible(uow.number_blocks, ctx, block_id)
    if uow.numbers.count(block_id=block.id):
        raise Conflict("Remove the numbers of this block first", field="block_id")
    uow.number_blocks.remove(block.id)


def add_number(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    e164: str,
    *,
    block_id: str | None = None,
    main: bool = False,
    home_region: str = "BE",
) -> PhoneNumber:
    """CFG-6: a number of the account, national or international by its country, in a block or not."""
    get_customer(uow, ctx, account_id)
    number_text = parse_e164(e164)
    if uow.numbers.find_by(e164=number_text):
        raise Conflict(f"{number_text} is already in service", field="e164")
    refuse_change_while_porting(uow, number_text, "taken into service")  # BIL-7: a number porting in
    if block_id is not None:
        block = get_visible(uow.number_blocks, ctx, block_id, account_id=account_id)
        if not in_block(number_text, block):
            raise InvalidInput("e164", f"{number_text} is outside the block starting at {block.first_e164}")
    else:
        block_id = next(
            (b.id for b in uow.number_blocks.list(account_id=account_id) if in_block(number_text, b)), None
        )
    if main:
        for other in uow.numbers.list(account_id=account_id, main=True):
            uow.numbers.update(replace(other, main=False))
    number = PhoneNumber(
        id=new_id("num"),
        account_id=account_id,
        e164=number_text,
        scope=NumberScope.NATIONAL
        if is_national(number_text, home_region=home_region)
        else NumberScope.INTERNATIONAL,
        created_at=ctx.clock.now(),
        block_id=block_id,
        main=main,
        activated_on=ctx.clock.now().date(),
    )
    uow.numbers.add(number)
    return number


def assign_number(
    uow: UnitOfWork,
    ctx: Context,
    number_id: str,
    *,
    user_id: str | None = None,
    device_id: str | None = None,
    trunk_id: str | None = None,
    ring_group_id: str | None = None,
) -> PhoneNumber:
    """CFG-6: route a number to one user, device, trunk or ring group of the same account (or to none)."""
    number = get_visible(uow.numbers, ctx, number_id)
    targets = [t for t in (user_id, device_id, trunk_id, ring_group_id) if t is not None]
    if len(targets) > 1:
        raise InvalidInput(
            "user_id", "A number is assigned to one user, device, trunk or ring group at a time"
        )
    if uow.faxes.find_by(number_id=number.id) and targets:
        raise Conflict("The number leads to a virtual fax", field="number_id")
    if uow.number_applications.find(number.id) is not None and targets:
        raise Conflict("The number leads to a menu, schedule or conference room", field="number_id")
    if user_id:
        user = get_visible(uow.users, ctx, user_id, account_id=number.account_id)
        if user.no_service:
            raise InvalidInput("user_id", "A no-service user has no telephony (CFG-2)")
    if device_id:
        get_visible(uow.devices, ctx, device_id, account_id=number.account_id)
    if trunk_id:
        get_visible(uow.trunks, ctx, trunk_id, account_id=number.account_id)
    if ring_group_id:
        get_visible(uow.ring_groups, ctx, ring_group_id, account_id=number.account_id)
    refuse_change_while_porting(uow, number.e164, "reassigned")
    updated = replace(
        number, user_id=user_id, device_id=device_id, trunk_id=trunk_id, ring_group_id=ring_group_id
    )
    uow.numbers.update(updated)
    return updated


def remove_number(uow: UnitOfWork, ctx: Context, number_id: str) -> None:
    """Take a number out of service (BIL-11's 12 months are billing's concern, not refused here)."""
    number = get_visible(uow.numbers, ctx, number_id)
    if uow.faxes.find_by(number_id=number.id):
        raise Conflict("Remove the virtual fax on this number first", field="number_id")
    refuse_change_while_porting(uow, number.e164, "removed")
    if uow.number_applications.find(number.id) is not None:
        uow.number_applications.remove(number.id)
    uow.numbers.remove(number.id)
