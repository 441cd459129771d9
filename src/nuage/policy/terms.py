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
4. SIP-4 (outbound only) — an account the auto-dialer detector (``nuage.policy.autodialer``)
   has blocked is refused citing SIP-4 with the recorded reason, until the operator clears it;
   the policy feeds the detector each outbound attempt it lets through and each call's end.
5. CAP-3 — every account involved must have a free channel (counting: ``nuage.policy.channels``),
   otherwise the call is refused citing CAP-3 (486 Capacity Exceeded).

An account the snapshot does not know yet (created since the last reload, a few seconds at
most) cannot have its capacity enforced: its non-emergency calls are refused citing CAP-3 until
the next reload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from nuage.errors import InvalidInput
from nuage.policy.autodialer import AutoDialerBlock, AutoDialerDetector, Subject
from nuage.policy.channels import ChannelCounter
from nuage.policy.snapshot import AccountTerms, PolicySnapshot
from nuage.shared.clock import SystemClock
from nuage.shared.phone import parse_e164
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CdrRecord,
    DeviceDestination,
    Direction,
    Refusal,
    UserDestination,
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


class TermsCallPolicy:
    """CallPolicy of the terms (EMG-4, PAY-3, CTR-4, SIP-2, SIP-4, CAP-3); also the end-of-call hook."""

    def __init__(
        self,
        source: SnapshotSource,
        *,
        channels: ChannelCounter | None = None,
        caller_id_mode: CallerIdMode = CallerIdMode.REFUSE,
        home_region: str = "BE",
        max_duration: timedelta | None = None,
        autodialer: AutoDialerDetector | None = None,
    ) -> None:
        self._source = source
        self.channels = channels or ChannelCounter()
        self._caller_id_mode = CallerIdMode(caller_id_mode)
        self._region = home_region
        self._max_duration = max_duration
        self.autodialer = autodialer or AutoDialerDetector(SystemClock())

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        """Routes for the attempt, or a refusal citing the rule that forbids it."""
        verdict = self.decide(attempt)
        if isinstance(verdict, Refusal):
            log.info("call %s refused: %s %s", attempt.call_id, verdict.rule_id, verdict.reason)
        return verdict

    def decide(self, attempt: CallAttempt) -> Authorization | Refusal:
        """The decision, synchronously: no await between the capacity check and the channel taken."""
        snapshot = self._source.snapshot
        caller, callee = _parties(attempt)
        involved = tuple(dict.fromkeys(a for a in (caller, callee) if a is not None))
        if attempt.emergency:  # EMG-4
            self.channels.acquire(attempt.call_id, involved)
            return Authorization(routes=(attempt.destination,), max_duration=None)
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
        spoofed = (
            attempt.direction is Direction.OUTBOUND
            and caller is not None
            and not self._caller_id_allowed(attempt.presented_caller_id, terms[caller])
        )
        if spoofed:
            if self._caller_id_mode is CallerIdMode.REFUSE:
                return Refusal("SIP-2", "caller ID is not a number of the account")
            log.info("call %s: foreign caller ID replaced by the account's number", attempt.call_id)
        dialler = caller if attempt.direction is Direction.OUTBOUND else None
        if dialler is not None:
            block = self.autodialer.blocked(Subject("account", dialler))
            if block is not None:  # SIP-4
                return Refusal("SIP-4", block.reason)
        full = self.channels.full({a: t.channels for a, t in terms.items()})
        if full:
            whose = "the called account" if full == [callee] and callee != caller else "the account"
            channels = terms[full[0]].channels
            return Refusal("CAP-3", f"all {channels} channels of {whose} are in use")
        self.channels.acquire(attempt.call_id, involved)
        if dialler is not None:
            self.autodialer.attempt(attempt.call_id, attempt.dialled, (Subject("account", dialler),))
        return Authorization(routes=(attempt.destination,), max_duration=self._max_duration)

    def _caller_id_allowed(self, presented: str, terms: AccountTerms) -> bool:
        text = presented.strip()
        if text.lower() in ANONYMOUS or text in terms.device_usernames or text in terms.numbers:
            return True
        try:
            return parse_e164(text, region=self._region) in terms.numbers
        except InvalidInput:
            return False

    # -- end of calls (the Accounting shape of nuage.sip.accounting) ---------------------------

    def call_ended(self, record: CdrRecord) -> None:
        """A call or attempt ended: give back its channels (a refused one never took any)."""
        if record.refusal_rule_id is None:
            self.channels.release(record.call_id)
        answered = record.answered_at is not None
        self.autodialer.ended(record.call_id, answered=answered, billable_seconds=record.billable_seconds)

    def autodialer_blocks(self) -> list[AutoDialerBlock]:
        """SIP-4: the accounts blocked as automatic calling machines (subject, since, reason)."""
        return self.autodialer.blocks()

    def clear_autodialer_block(self, account_id: str) -> bool:
        """SIP-4: the operator lifts an account's block; whether there was one."""
        return self.autodialer.clear(Subject("account", account_id))

    def reconcile(self, live_call_ids: Iterable[str]) -> int:
        """Give back channels of calls no longer in progress (a safety net); how many released."""
        live = set(live_call_ids)
        stale = self.channels.held_calls() - live
        for call_id in stale:
            self.channels.forget(call_id)
        return len(stale)


def _parties(attempt: CallAttempt) -> tuple[str | None, str | None]:
    """(calling account, called account) of the platform involved in the attempt."""
    if attempt.direction is Direction.INBOUND:
        return None, attempt.account_id
    if attempt.direction is Direction.OUTBOUND:
        return attempt.account_id, None
    destination = attempt.destination
    callee = destination.account_id if isinstance(destination, UserDestination | DeviceDestination) else None
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
