"""``TermsCallPolicy``: the rules of the terms applied to every call attempt.

Order of the checks, first match wins:

1. EMG-4 — an emergency call (112, 100, 101) is authorised whatever the capacity, the status
   of the account or its credit, with no duration limit; it still takes a channel (CAP-3
   counting) so that the calls it sits beside are counted right.
2. Status of each account involved (the caller's for outbound and internal calls, the called
   account's for inbound and internal calls):
   - SUSPENDED (PAY-1 suspension): PAY-3 minimum service, emergency calls only — any other
     call from it, and any call to it, is refused citing PAY-3;
   - BANKRUPT: no service, refused citing CTR-4;
   - TERMINATED: no service, refused citing CTR-2 (the rule that ends the contract).
   Decision: EMG-4 prevails over CTR-4/CTR-2 as over PAY-3 — a bankrupt or terminated account
   whose phones still register can still reach the emergency services.
3. SIP-2 (outbound only) — the caller ID presented (the From user part) must be a number the
   account owns, a SIP username of one of its devices (a phone's identity, not a number: the
   platform then presents the device's own number) or anonymous. Otherwise, by the operator's
   setting ``CallerIdMode``: REFUSE (default) refuses citing SIP-2; REPLACE lets the call go,
   presenting the device's number or the account's main number, which is what the B2BUA puts in
   the From of every outbound call anyway (``SipAccount.caller_id_e164``).
4. SIP-4 (outbound only) — an account, or the customer trunk the call comes from (SIP-3), that
   the auto-dialer detector (``nuage.policy.autodialer``) has blocked is refused citing SIP-4 with
   the recorded reason, until the operator clears it; the policy feeds the detector each outbound
   attempt it lets through, for the account and for its trunk, and each call's end.
5. SIP-5 (outbound only) — an account whose daily spending cap is reached is refused citing
   SIP-5; otherwise the call may last only as long as the budget left buys
   (``nuage.policy.spending``).
6. CAP-3 — every account involved, and the customer trunk of the call if any (its own
   ``channel_limit``, SIP-3), must have a free channel (counting: ``nuage.policy.channels``),
   otherwise the call is refused citing CAP-3 (486 Capacity Exceeded). A call of the click-to-call
   widget also needs a free channel of its web channel, else it is refused citing CFG-10 ("all
   lines busy", 486).

The authorisation of an outbound call carries, as ``caller_id``, the E.164 number the B2BUA
presents (SIP-2): the account's number the caller presented, in whatever form, normalised; in
REPLACE mode the account's main number instead of a foreign one; None (the device's own number)
for an anonymous caller or a device's SIP username.

An account the snapshot does not know yet (created since the last reload, a few seconds at
most) cannot have its capacity enforced: its non-emergency calls are refused citing CAP-3 until
the next reload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from nuage.errors import InvalidInput
from nuage.policy.autodialer import AutoDialerBlock, AutoDialerDetector, Subject
from nuage.policy.channels import (
    WEB_CHANNEL_PREFIX,
    ChannelCounter,
    Channels,
    trunk_holder,
    web_channel_holder,
)
from nuage.policy.snapshot import AccountTerms, PolicySnapshot
from nuage.policy.spending import DailySpend
from nuage.shared.clock import Clock, SystemClock
from nuage.shared.phone import parse_e164
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CdrRecord,
    Direction,
    ExternalDestination,
    Refusal,
    TrunkDestination,
)
from nuage.tenancy.model import PartyStatus

log = logging.getLogger("nuage.policy")

ANONYMOUS = frozenset({"", "anonymous", "unknown", "restricted"})


class CallerIdMode(StrEnum):
    """SIP-2: what to do with an outbound call presenting a caller ID foreign to the account."""

    REFUSE = "refuse"  # refuse citing SIP-2 (the terms' reading, the default)
    REPLACE = "replace"  # let it through; the account's own number is presented instead


class SnapshotSource(Protocol):
    """Where the policy reads the current snapshot (an adapter keeps it fresh)."""

    @property
    def snapshot(self) -> PolicySnapshot:
        """The latest snapshot; never blocks."""
        ...


class StaticSnapshot:
    """A snapshot that changes only when told to (tests and lab set-ups)."""

    def __init__(self, snapshot: PolicySnapshot) -> None:
        self.snapshot = snapshot


@dataclass(frozen=True, slots=True)
class _Admitted:
    """What the synchronous checks let through: the channels to take and what to feed after."""

    limits: dict[str, int | None]
    names: dict[str, str]  # holder -> how a refusal names it
    dialler: str | None
    subjects: tuple[Subject, ...]
    max_duration: timedelta | None
    caller_id: str | None


class TermsCallPolicy:
    """CallPolicy of the terms (EMG-4, PAY-3, CTR-4, SIP-2, SIP-4, SIP-5, CAP-3); the end-of-call hook."""

    def __init__(
        self,
        source: SnapshotSource,
        *,
        channels: Channels | None = None,
        caller_id_mode: CallerIdMode = CallerIdMode.REFUSE,
        home_region: str = "BE",
        max_duration: timedelta | None = None,
        autodialer: AutoDialerDetector | None = None,
        clock: Clock | None = None,
        spend: DailySpend | None = None,
    ) -> None:
        self._source = source
        self.channels: Channels = channels or ChannelCounter()
        self._caller_id_mode = CallerIdMode(caller_id_mode)
        self._region = home_region
        self._max_duration = max_duration
        clock = clock or SystemClock()
        self.autodialer = autodialer or AutoDialerDetector(clock)
        ceiling = max_duration.total_seconds() if max_duration is not None else None
        self.spend = spend or DailySpend(clock, max_call_s=ceiling)
        self._synced: PolicySnapshot | None = None

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        """Routes for the attempt, or a refusal citing the rule that forbids it."""
        checked = self._check(attempt)
        verdict = await self._take(attempt, checked) if isinstance(checked, _Admitted) else checked
        if isinstance(verdict, Refusal):
            log.info("call %s refused: %s %s", attempt.call_id, verdict.rule_id, verdict.reason)
        return verdict

    async def _take(self, attempt: CallAttempt, admitted: _Admitted) -> Authorization | Refusal:
        """CAP-3: take the channels (atomic in the counter); then feed SIP-4."""
        try:
            full = await self.channels.try_acquire(attempt.call_id, admitted.limits)
        except BaseException:
            if not attempt.emergency:
                self.spend.cancel(attempt.call_id)
            raise
        if full:
            if not attempt.emergency:
                self.spend.cancel(attempt.call_id)
            holder = full[0]
            if holder.startswith(WEB_CHANNEL_PREFIX):  # CFG-10
                return Refusal(
                    "CFG-10",
                    f"All lines busy: all {admitted.limits[holder]} channels of the widget are in calls",
                )
            return Refusal(
                "CAP-3", f"all {admitted.limits[holder]} channels of {admitted.names[holder]} are in use"
            )
        if admitted.dialler is not None and admitted.subjects:
            self.autodialer.attempt(
                attempt.call_id, attempt.dialled, admitted.subjects, account_id=admitted.dialler
            )
        return Authorization(
            routes=(attempt.destination,), max_duration=admitted.max_duration, caller_id=admitted.caller_id
        )

    def _check(self, attempt: CallAttempt) -> _Admitted | Refusal:
        """Every check but the channels, synchronously, from the snapshot in memory."""
        snapshot = self._source.snapshot
        if snapshot is not self._synced:
            self._sync(snapshot)
        caller, callee = _parties(attempt)
        involved = tuple(dict.fromkeys(a for a in (caller, callee) if a is not None))
        trunks = _trunks(attempt)
        if attempt.emergency:  # EMG-4
            limits: dict[str, int | None] = dict.fromkeys(involved)
            limits.update(dict.fromkeys(trunk_holder(t) for t in trunks))
            return _Admitted(limits, {}, None, (), None, None)
        terms: dict[str, AccountTerms] = {}
        for account_id in involved:
            found = snapshot.accounts.get(account_id)
            if found is None:
                return Refusal("CAP-3", "capacity of the account not known yet")
            terms[account_id] = found
        if caller is not None:
            refusal = _status_refusal(terms[caller].status, calling=True)
            if refusal is not None:
                return refusal
        if callee is not None:
            refusal = _status_refusal(terms[callee].status, calling=False)
            if refusal is not None:
                return refusal
        caller_id: str | None = None
        if attempt.direction is Direction.OUTBOUND and caller is not None:
            allowed, caller_id = self._presented(attempt.presented_caller_id, terms[caller])
            if not allowed:
                if self._caller_id_mode is CallerIdMode.REFUSE:
                    return Refusal("SIP-2", "caller ID is not a number of the account")
                caller_id = terms[caller].main_number
                log.info("call %s: foreign caller ID replaced by the account's number", attempt.call_id)
        dialler = caller if attempt.direction is Direction.OUTBOUND else None
        subjects: tuple[Subject, ...] = ()
        max_duration = self._max_duration
        if dialler is not None:
            subjects = (Subject("account", dialler),)
            if attempt.customer_trunk_id is not None:
                subjects += (Subject("trunk", attempt.customer_trunk_id),)
            for subject in subjects:
                block = self.autodialer.blocked(subject)
                if block is not None:  # SIP-4
                    return Refusal("SIP-4", block.reason)
            destination = attempt.destination
            if isinstance(destination, ExternalDestination):  # SIP-5
                granted = self.spend.grant(
                    attempt.call_id,
                    dialler,
                    destination.e164,
                    cap=snapshot.spend_caps.get(dialler),
                    tariffs=snapshot.tariffs,
                )
                if isinstance(granted, Refusal):
                    return granted
                if granted is not None:
                    max_duration = granted if max_duration is None else min(granted, max_duration)
        limits = {a: t.channels for a, t in terms.items()}
        names = {a: "the account" for a in terms}
        if callee is not None and callee != caller:
            names[callee] = "the called account"
        for trunk_id in trunks:
            trunk = snapshot.trunks.get(trunk_id)
            holder = trunk_holder(trunk_id)
            limits[holder] = trunk.channel_limit if trunk is not None else None
            names[holder] = "the trunk"
        if attempt.web_channel is not None:  # CFG-10
            web_channel_id, channels = attempt.web_channel
            limits[web_channel_holder(web_channel_id)] = channels
            names[web_channel_holder(web_channel_id)] = "the widget"
        return _Admitted(limits, names, dialler, subjects, max_duration, caller_id)

    def refresh(self) -> None:
        """Take in the source's current snapshot now (SIP-4 blocks synchronised)."""
        snapshot = self._source.snapshot
        if snapshot is not self._synced:
            self._sync(snapshot)

    def _sync(self, snapshot: PolicySnapshot) -> None:
        """A new snapshot: the SIP-4 blocks stored are synchronised with those in memory."""
        self._synced = snapshot
        if snapshot.autodialer_blocks is not None:
            self.autodialer.sync(snapshot.autodialer_blocks)

    def _presented(self, presented: str, terms: AccountTerms) -> tuple[bool, str | None]:
        """SIP-2: (allowed, the account's E.164 number it denotes). Anonymous and the SIP username
        of one of the account's devices are allowed but denote no number (the device's own is
        presented); a number in any form (``+32…``, ``0…``) denotes its E.164 form if it is owned."""
        text = presented.strip()
        if text.lower() in ANONYMOUS or text in terms.device_usernames:
            return True, None
        try:
            number = text if text in terms.numbers else parse_e164(text, region=self._region)
        except InvalidInput:
            return False, None
        return (True, number) if number in terms.numbers else (False, None)

    # -- end of calls (the Accounting shape of nuage.sip.accounting) ---------------------------

    def call_ended(self, record: CdrRecord) -> None:
        """A call or attempt ended: give back its channels and its budget (a refused one took none)."""
        if record.refusal_rule_id is None:
            self.channels.release(record.call_id)
            if not record.emergency:
                self.spend.ended(record.call_id, record.billable_seconds if record.answered_at else 0)
        answered = record.answered_at is not None
        self.autodialer.ended(record.call_id, answered=answered, billable_seconds=record.billable_seconds)

    def restore_spend(self, day: date, spent: dict[str, Decimal]) -> None:
        """SIP-5: at start, what today's CDRs already cost per account."""
        self.spend.restore(day, spent)

    def autodialer_blocks(self) -> list[AutoDialerBlock]:
        """SIP-4: the accounts and trunks blocked as automatic calling machines (subject, since, reason)."""
        self.refresh()
        return self.autodialer.blocks()

    def clear_autodialer_block(self, subject_id: str, kind: str = "account") -> bool:
        """SIP-4: the operator lifts an account's (or a trunk's) block; whether there was one."""
        return self.autodialer.clear(Subject(kind, subject_id))

    def reconcile(self, live_call_ids: Iterable[str]) -> int:
        """Give back channels of calls no longer in progress (a safety net); how many released."""
        live = set(live_call_ids)
        stale = self.channels.held_calls() - live
        for call_id in stale:
            self.channels.forget(call_id)
        return len(stale)


def _trunks(attempt: CallAttempt) -> tuple[str, ...]:
    """SIP-3: the customer trunks a call comes from or goes to."""
    found = [attempt.customer_trunk_id] if attempt.customer_trunk_id else []
    if isinstance(attempt.destination, TrunkDestination):
        found.append(attempt.destination.trunk_id)
    return tuple(dict.fromkeys(found))


def _parties(attempt: CallAttempt) -> tuple[str | None, str | None]:
    """(calling account, called account) of the platform involved in the attempt."""
    if attempt.direction is Direction.INBOUND:
        return None, attempt.account_id
    if attempt.direction is Direction.OUTBOUND:
        return attempt.account_id, None
    destination = attempt.destination
    callee = destination.account_id if not isinstance(destination, ExternalDestination) else None
    return attempt.account_id, callee


def _status_refusal(status: PartyStatus, *, calling: bool) -> Refusal | None:
    if status is PartyStatus.SUSPENDED:
        if calling:
            return Refusal("PAY-3", "service suspended: emergency calls only")
        return Refusal("PAY-3", "the called account's service is suspended")
    if status is PartyStatus.BANKRUPT:
        return Refusal("CTR-4", "service interrupted")
    if status is PartyStatus.TERMINATED:
        return Refusal("CTR-2", "contract terminated")
    return None
