"""Devices (CFG-3, CFG-5, CFG-13, SIP-5): declare, change and remove an account's phones and lines."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.model import Device, DeviceKind, LinePurpose
from nuage.directory.rules import (
    check_device_owner,
    check_sip_password,
    check_sip_username,
    clean_name,
    generate_sip_password,
    refuse_alarm_and_lift_lines,
)
from nuage.errors import Conflict
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.hot_desk import end_sessions
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id


@dataclass(frozen=True, kw_only=True)
class DeviceChanges:
    """What a change of a device sets; ``UNSET`` fields stay as they are."""

    label: str | Unset = UNSET
    user_id: str | None | Unset = UNSET
    room_id: str | None | Unset = UNSET
    hot_desk: bool | Unset = UNSET
    site: str | None | Unset = UNSET
    emergency_number_id: str | None | Unset = UNSET
    purpose: LinePurpose | Unset = UNSET
    sip_password: str | None | Unset = UNSET


def check_free_sip_username(uow: UnitOfWork, username: str) -> None:
    """SIP-5: a well-formed SIP username no device or trunk has yet."""
    check_sip_username(username)
    if uow.devices.find_by(sip_username=username) or uow.trunks.find_by(sip_username=username):
        raise Conflict(f"SIP username {username} is taken", field="sip_username")


def add_device(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    kind: DeviceKind,
    label: str,
    *,
    user_id: str | None = None,
    room_id: str | None = None,
    purpose: LinePurpose = LinePurpose.TELEPHONY,
    hot_desk: bool = False,
    sip_username: str | None = None,
    sip_password: str | None = None,
    site: str | None = None,
    mac_address: str | None = None,
) -> Device:
    """CFG-3: declare a device; CFG-5 refuses alarm and lift lines; SIP-5 strong credentials."""
    get_customer(uow, ctx, account_id)
    refuse_alarm_and_lift_lines(LinePurpose(purpose), "device")
    owner = get_visible(uow.users, ctx, user_id, account_id=account_id) if user_id else None
    if room_id is not None:
        get_visible(uow.rooms, ctx, room_id, account_id=account_id)
    if sip_username is None:
        sip_username = new_id("sip").replace("_", "-")
    check_free_sip_username(uow, sip_username)
    if sip_password is None:
        sip_password = generate_sip_password()
    else:
        check_sip_password(sip_password)
    device = Device(
        id=new_id("dev"),
        account_id=account_id,
        kind=DeviceKind(kind),
        label=clean_name(label, "label"),
        created_at=ctx.clock.now(),
        user_id=user_id,
        room_id=room_id,
        sip_username=sip_username,
        sip_password=sip_password,
        purpose=LinePurpose(purpose),
        hot_desk=hot_desk,
        site=site,
        mac_address=mac_address,
    )
    check_device_owner(device, owner)
    uow.devices.add(device)
    return device


def update_device(uow: UnitOfWork, ctx: Context, device_id: str, change: DeviceChanges) -> Device:
    """Change a device: relink it, move it to a room, rename it; CFG-2/CFG-5 still hold."""
    device = get_visible(uow.devices, ctx, device_id)
    values = given(change)
    if isinstance(change.label, str):
        values["label"] = clean_name(change.label, "label")
    if isinstance(change.purpose, str):
        values["purpose"] = LinePurpose(change.purpose)
        refuse_alarm_and_lift_lines(values["purpose"], "device")
    if isinstance(change.sip_password, str):
        check_sip_password(change.sip_password)
    if isinstance(change.room_id, str):
        get_visible(uow.rooms, ctx, change.room_id, account_id=device.account_id)
    if isinstance(change.emergency_number_id, str):
        get_visible(uow.numbers, ctx, change.emergency_number_id, account_id=device.account_id)
    updated = replace(device, **values)
    owner = (
        get_visible(uow.users, ctx, updated.user_id, account_id=device.account_id)
        if updated.user_id
        else None
    )
    check_device_owner(updated, owner)
    if not updated.hot_desk:
        end_sessions(uow, device_id=device.id)  # CFG-13: no longer shared, so nobody is logged in
    uow.devices.update(updated)
    return updated


def remove_device(uow: UnitOfWork, ctx: Context, device_id: str) -> None:
    """Remove a device; numbers assigned to it are unassigned."""
    device = get_visible(uow.devices, ctx, device_id)
    for number in uow.numbers.list(device_id=device.id):
        uow.numbers.update(replace(number, device_id=None))
    end_sessions(uow, device_id=device.id)  # CFG-13
    uow.devices.remove(device.id)
