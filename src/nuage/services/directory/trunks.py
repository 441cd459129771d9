"""Customer trunks (SIP-3, CFG-5, SIP-5): a PBX connected by registration or by its addresses."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.model import LinePurpose, Trunk, TrunkAuth
from nuage.directory.rules import (
    check_positive,
    check_sip_password,
    clean_name,
    clean_trunk_addresses,
    generate_sip_password,
    refuse_alarm_and_lift_lines,
)
from nuage.errors import InvalidInput
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.directory.devices import check_free_sip_username
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id


@dataclass(frozen=True, kw_only=True)
class TrunkChanges:
    """What a change of a trunk sets; ``UNSET`` fields stay as they are."""

    name: str | Unset = UNSET
    channel_limit: int | None | Unset = UNSET
    allowed_ips: str | None | Unset = UNSET
    purpose: LinePurpose | Unset = UNSET
    sip_password: str | None | Unset = UNSET
    emergency_number_id: str | None | Unset = UNSET
    site: str | None | Unset = UNSET  # EMG-2


def add_trunk(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    auth: TrunkAuth,
    *,
    purpose: LinePurpose = LinePurpose.TELEPHONY,
    sip_username: str | None = None,
    sip_password: str | None = None,
    allowed_ips: str | None = None,
    channel_limit: int | None = None,
    site: str | None = None,
) -> Trunk:
    """SIP-3: a customer PBX by registration (credentials) or by IP; CFG-5 refuses alarm/lift trunks."""
    get_customer(uow, ctx, account_id)
    refuse_alarm_and_lift_lines(LinePurpose(purpose), "trunk")
    auth = TrunkAuth(auth)
    if auth is TrunkAuth.REGISTRATION:
        sip_username = sip_username or new_id("trk").replace("_", "-")
        check_free_sip_username(uow, sip_username)
        if sip_password is None:
            sip_password = generate_sip_password()
        else:
            check_sip_password(sip_password)
        allowed_ips = None
    else:
        if allowed_ips is None:
            raise InvalidInput("allowed_ips", "IP authentication needs the PBX's addresses")
        allowed_ips = clean_trunk_addresses(allowed_ips)
        sip_username = sip_password = None
    if channel_limit is not None:
        check_positive("channel_limit", channel_limit)
    trunk = Trunk(
        id=new_id("trk"),
        account_id=account_id,
        name=clean_name(name),
        auth=auth,
        created_at=ctx.clock.now(),
        purpose=LinePurpose(purpose),
        sip_username=sip_username,
        sip_password=sip_password,
        allowed_ips=allowed_ips,
        channel_limit=channel_limit,
        site=site.strip() or None if site is not None else None,
    )
    uow.trunks.add(trunk)
    return trunk


def update_trunk(uow: UnitOfWork, ctx: Context, trunk_id: str, change: TrunkChanges) -> Trunk:
    """SIP-3: rename a trunk, change its limit, addresses or password; CFG-5 and SIP-5 still hold."""
    trunk = get_visible(uow.trunks, ctx, trunk_id)
    values = given(change)
    if isinstance(change.name, str):
        values["name"] = clean_name(change.name)
    if isinstance(change.purpose, str):
        values["purpose"] = LinePurpose(change.purpose)
        refuse_alarm_and_lift_lines(values["purpose"], "trunk")
    if isinstance(change.channel_limit, int):
        check_positive("channel_limit", change.channel_limit)
    if not isinstance(change.allowed_ips, Unset):
        if trunk.auth is not TrunkAuth.IP:
            raise InvalidInput("allowed_ips", "Only IP-authenticated trunks have allowed addresses")
        values["allowed_ips"] = clean_trunk_addresses(change.allowed_ips or "")
    if not isinstance(change.sip_password, Unset):
        if trunk.auth is not TrunkAuth.REGISTRATION:
            raise InvalidInput("sip_password", "Only registering trunks have a SIP password")
        check_sip_password(change.sip_password or "")
    if isinstance(change.emergency_number_id, str):
        get_visible(uow.numbers, ctx, change.emergency_number_id, account_id=trunk.account_id)
    updated = replace(trunk, **values)
    uow.trunks.update(updated)
    return updated


def remove_trunk(uow: UnitOfWork, ctx: Context, trunk_id: str) -> None:
    """SIP-3: remove a trunk; numbers routed to it are unassigned."""
    trunk = get_visible(uow.trunks, ctx, trunk_id)
    for number in uow.numbers.list(trunk_id=trunk.id):
        uow.numbers.update(replace(number, trunk_id=None))
    uow.trunks.remove(trunk.id)
