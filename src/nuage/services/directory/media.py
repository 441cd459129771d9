"""An account's media items: virtual faxes (CFG-7), recording (CFG-9), click-to-call channels
(CFG-10) and traffic packs (CFG-11); conference rooms (CFG-8) are ``services.directory.conferences``',
sound files (CFG-12) ``services.directory.sound_files``'."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from nuage.directory.model import (
    CallRecording,
    RecordingSetting,
    TrafficPack,
    VirtualFax,
    WebChannel,
)
from nuage.directory.rules import (
    check_positive,
    check_recording_acknowledgment,
    clean_email,
    clean_name,
)
from nuage.errors import Conflict, InvalidInput
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.directory.recording_choice import RecordingChoice, choose, forget_recordings
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id
from nuage.tenancy.model import PartyStatus


@dataclass(frozen=True, kw_only=True)
class WebChannelChanges:
    """What a change of a click-to-call widget sets; ``UNSET`` fields stay as they are."""

    name: str | Unset = UNSET
    channels: int | Unset = UNSET
    allowed_origin: str | None | Unset = UNSET


# --- virtual fax (CFG-7) ------------------------------------------------------------------------------


def add_virtual_fax(uow: UnitOfWork, ctx: Context, account_id: str, number_id: str, email: str) -> VirtualFax:
    """CFG-7: a virtual incoming fax, bound to one number of the account."""
    get_customer(uow, ctx, account_id)
    number = get_visible(uow.numbers, ctx, number_id, account_id=account_id)
    if uow.faxes.find_by(number_id=number.id):
        raise Conflict(f"{number.e164} already leads to a virtual fax", field="number_id")
    if number.user_id or number.device_id or number.trunk_id:
        raise Conflict(f"{number.e164} is assigned; unassign it first", field="number_id")
    fax = VirtualFax(new_id("fax"), account_id, number.id, clean_email(email) or "", ctx.clock.now())
    uow.faxes.add(fax)
    return fax


def remove_virtual_fax(uow: UnitOfWork, ctx: Context, fax_id: str) -> None:
    """CFG-7: remove a virtual fax; its number stays in service."""
    fax = get_visible(uow.faxes, ctx, fax_id)
    uow.faxes.remove(fax.id)


# --- recording (CFG-9) ------------------------------------------------------------------------------------


def get_recording(uow: UnitOfWork, ctx: Context, account_id: str) -> RecordingSetting:
    """CFG-9: the account's recording setting (off until an administrator switches it on)."""
    get_customer(uow, ctx, account_id)
    return uow.recording.find(account_id) or RecordingSetting(account_id=account_id)


def set_recording(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    *,
    enabled: bool,
    administrator_id: str | None,
    acknowledged: bool,
    choice: RecordingChoice | None = None,
) -> RecordingSetting:
    """CFG-9: an administrator switches recording on, acknowledging the legal duties, and chooses
    which calls are recorded and for how long recordings are kept (``choice``; None keeps it)."""
    current = get_recording(uow, ctx, account_id)
    admin = get_visible(uow.users, ctx, administrator_id, account_id=account_id) if administrator_id else None
    check_recording_acknowledgment(enabled, admin, acknowledged)
    chosen = choose(uow, ctx, current, choice or RecordingChoice())
    updated = replace(
        chosen,
        enabled=enabled,
        acknowledged_by_user_id=admin.id if (enabled and admin) else current.acknowledged_by_user_id,
        acknowledged_at=ctx.clock.now() if enabled else current.acknowledged_at,
    )
    if uow.recording.find(account_id) is None:
        uow.recording.add(updated)
    else:
        uow.recording.update(updated)
    return updated


def recording_file(data_dir: Path, account_id: str, recording_id: str) -> Path:
    """CFG-9: where a call recording's FLAC is kept: ``<data_dir>/recordings/<account>/<id>.flac``."""
    return data_dir / "recordings" / account_id / f"{recording_id}.flac"


def add_call_recording(uow: UnitOfWork, recording: CallRecording) -> bool:
    """CFG-9: a call was recorded: listed for its account, its bytes added to the recording volume;
    False (nothing listed: the caller deletes the file) when the account was terminated meanwhile,
    as a recording never outlives its account."""
    account = uow.parties.find(recording.account_id)
    if account is None or account.status is PartyStatus.TERMINATED:
        return False
    uow.call_recordings.add(recording)
    setting = uow.recording.find(recording.account_id) or RecordingSetting(account_id=recording.account_id)
    updated = replace(
        setting, stored_bytes=setting.stored_bytes + recording.size_bytes, recordings=setting.recordings + 1
    )
    if uow.recording.find(recording.account_id) is None:
        uow.recording.add(updated)
    else:
        uow.recording.update(updated)
    return True


def remove_call_recording(uow: UnitOfWork, ctx: Context, recording_id: str) -> CallRecording:
    """CFG-9: delete a recording (TEN-4: one the caller may see); its bytes leave the volume billed.
    The caller removes the file once the change is committed."""
    recording = get_visible(uow.call_recordings, ctx, recording_id)
    forget_recordings(uow, [recording])
    return recording


# --- click-to-call channels (CFG-10) --------------------------------------------------------------------


def _operator_sets_channels(ctx: Context, channels: int) -> None:
    """CFG-10: only the operator configures a widget's channels (they are billed per channel)."""
    if not ctx.scope.is_operator:
        raise InvalidInput("channels", "The operator configures click-to-call channels (CFG-10)")
    check_positive("channels", channels)


def add_web_channel(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    channels: int,
    *,
    allowed_origin: str | None = None,
    target_number_id: str | None = None,
) -> WebChannel:
    """CFG-10: a click-to-call widget; the operator configures its channels (billed per channel)."""
    get_customer(uow, ctx, account_id)
    _operator_sets_channels(ctx, channels)
    if target_number_id is not None:
        get_visible(uow.numbers, ctx, target_number_id, account_id=account_id)
    channel = WebChannel(
        new_id("web"),
        account_id,
        clean_name(name),
        channels,
        ctx.clock.now(),
        allowed_origin,
        target_number_id,
    )
    uow.web_channels.add(channel)
    return channel


def update_web_channel(
    uow: UnitOfWork, ctx: Context, channel_id: str, change: WebChannelChanges
) -> WebChannel:
    """CFG-10: the operator changes a click-to-call widget's channels; names and origins too."""
    channel = get_visible(uow.web_channels, ctx, channel_id)
    values = given(change)
    if isinstance(change.channels, int):
        _operator_sets_channels(ctx, change.channels)
    if isinstance(change.name, str):
        values["name"] = clean_name(change.name)
    updated = replace(channel, **values)
    uow.web_channels.update(updated)
    return updated


def remove_web_channel(uow: UnitOfWork, ctx: Context, channel_id: str) -> None:
    """CFG-10: remove a click-to-call widget."""
    channel = get_visible(uow.web_channels, ctx, channel_id)
    uow.web_channels.remove(channel.id)


# --- traffic packs (CFG-11) ----------------------------------------------------------------------------


def add_traffic_pack(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    *,
    quantity: int = 1,
    valid_from: date,
    minutes: int | None = None,
    amount: Decimal | None = None,
    channel_limit: int | None = None,
    valid_until: date | None = None,
) -> TrafficPack:
    """CFG-11: a pack of minutes or amount bought by count; CAP-2: it may fix the channel limit."""
    get_customer(uow, ctx, account_id)
    check_positive("quantity", quantity)
    if minutes is None and amount is None:
        raise InvalidInput("minutes", "A pack holds minutes or an amount")
    if minutes is not None:
        check_positive("minutes", minutes)
    if amount is not None and amount <= 0:
        raise InvalidInput("amount", "A pack's amount is positive")
    if channel_limit is not None:
        check_positive("channel_limit", channel_limit)
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput("valid_until", "A pack ends on or after its start")
    pack = TrafficPack(
        id=new_id("pack"),
        account_id=account_id,
        name=clean_name(name),
        quantity=quantity,
        created_at=ctx.clock.now(),
        valid_from=valid_from,
        minutes=minutes,
        amount=amount,
        channel_limit=channel_limit,
        valid_until=valid_until,
    )
    uow.packs.add(pack)
    return pack


def remove_traffic_pack(uow: UnitOfWork, ctx: Context, pack_id: str) -> None:
    """CFG-11: remove a traffic pack (CAP-2: its channel limit no longer applies)."""
    pack = get_visible(uow.packs, ctx, pack_id)
    uow.packs.remove(pack.id)
