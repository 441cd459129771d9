"""Call recording's choice and retention (CFG-9): which users and numbers are recorded, how long a
recording is kept, and the recordings that must go (older than the retention period, or of an
account whose contract ended).

The rules are ``nuage.directory.recording``'s; here they meet the unit of work. Deleting a
recording removes its row and takes its bytes out of the account's recording volume (the monthly
count bills only what is held); the caller removes the files once the change is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from nuage.directory.model import CallRecording, RecordingSetting
from nuage.directory.recording import (
    RecordingDirection,
    RecordingRule,
    RecordingScope,
    check_retention_days,
    check_selection,
    expired,
)
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.shared.phone import DEFAULT_REGION
from nuage.tenancy.model import PartyKind, PartyStatus


@dataclass(frozen=True, kw_only=True)
class RecordingChoice:
    """CFG-9: what an administrator chooses to record and for how long; ``UNSET`` keeps it."""

    scope: RecordingScope | Unset = UNSET
    direction: RecordingDirection | Unset = UNSET
    user_ids: tuple[str, ...] | Unset = UNSET
    number_ids: tuple[str, ...] | Unset = UNSET
    retention_days: int | None | Unset = UNSET


def choose(
    uow: UnitOfWork, ctx: Context, setting: RecordingSetting, choice: RecordingChoice
) -> RecordingSetting:
    """CFG-9: ``setting`` with the choice applied, once checked: the users and numbers are the
    account's (TEN-4), the selection bounded, the retention period 1 to 3650 days."""
    values = given(choice)
    account_id = setting.account_id
    user_ids = tuple(dict.fromkeys(values.get("user_ids", setting.user_ids)))
    number_ids = tuple(dict.fromkeys(values.get("number_ids", setting.number_ids)))
    scope = RecordingScope(values.get("scope", setting.scope))
    check_selection(scope, user_ids, number_ids)
    for user_id in values.get("user_ids", ()):
        get_visible(uow.users, ctx, user_id, account_id=account_id)
    for number_id in values.get("number_ids", ()):
        get_visible(uow.numbers, ctx, number_id, account_id=account_id)
    if "retention_days" in values:
        check_retention_days(values["retention_days"])
    values.update(user_ids=user_ids, number_ids=number_ids, scope=scope)
    return replace(setting, **values)


def recording_rule(uow: UnitOfWork, account_id: str, *, region: str = DEFAULT_REGION) -> RecordingRule:
    """CFG-9: the account's choice as the SIP plane applies it (the selected numbers as E.164, a
    national number a call carries read in ``region``); inactive unless switched on with the legal
    duties acknowledged."""
    setting = uow.recording.find(account_id)
    if setting is None or not setting.enabled or setting.acknowledged_at is None:
        return RecordingRule(active=False)
    numbers = (uow.numbers.find(number_id) for number_id in setting.number_ids)
    return RecordingRule(
        active=True,
        scope=RecordingScope(setting.scope),
        direction=RecordingDirection(setting.direction),
        user_ids=frozenset(setting.user_ids),
        numbers=frozenset(n.e164 for n in numbers if n is not None and n.account_id == account_id),
        region=region,
    )


def forget_recordings(uow: UnitOfWork, recordings: list[CallRecording]) -> None:
    """CFG-9: remove these recordings' rows; their bytes leave their accounts' volumes."""
    for recording in recordings:
        uow.call_recordings.remove(recording.id)
        setting = uow.recording.find(recording.account_id)
        if setting is not None:
            uow.recording.update(
                replace(
                    setting,
                    stored_bytes=max(0, setting.stored_bytes - recording.size_bytes),
                    recordings=max(0, setting.recordings - 1),
                )
            )


def purge_recordings(uow: UnitOfWork, now: datetime) -> list[CallRecording]:
    """CFG-9: the recordings no longer held, removed (not committed): those older than their
    account's retention period, and every recording of a terminated account (a recording never
    outlives its account). The caller commits, then deletes their files."""
    gone: list[CallRecording] = []
    for setting in uow.recording.list():
        account = uow.parties.find(setting.account_id)
        ended = account is None or (
            account.kind is PartyKind.CUSTOMER and account.status is PartyStatus.TERMINATED
        )
        if not ended and setting.retention_days is None:
            continue
        held = uow.call_recordings.list(account_id=setting.account_id)
        gone.extend(r for r in held if ended or expired(r.created_at, now, setting.retention_days))
    forget_recordings(uow, gone)
    return gone
