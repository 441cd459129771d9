"""SIP-4: automatic calling machines are forbidden on trunks — detect one and stop it.

``AutoDialerDetector`` is pure (no I/O, an injected clock). It is told of every outbound call
attempt the policy lets through (``attempt``) and of how each ended (``ended``), per subject: an
account, or a trunk when one is given. Over a sliding window (``window_s``) it measures, per
subject:

- the attempt rate (attempts per minute);
- the share of ended calls that were answered but short (``< short_call_s``) or not answered;
- the longest run of sequential destinations: consecutive attempts whose dialled numbers (digits
  only, same length) increase by a small step (``1..max_step``).

No verdict before ``min_sample`` attempts in the window. A subject is flagged when

- the rate is at least ``max_attempts_per_min`` *and* at least ``min_sample`` calls have ended
  with a short-or-unanswered share of at least ``short_or_unanswered_share``; or
- a run of at least ``sequential_run`` sequential destinations is seen.

A flagged subject is blocked for new outbound calls (the policy still lets emergency calls
through, EMG-4) with the reason recorded — which measures crossed which thresholds, and when —
until the operator clears it (``clear``).

Blocks are kept in memory (a call's decision never waits on the database) and written behind:
each new block and each clearing is queued in ``journal``, which a storage adapter drains in the
background (``nuage.storage.sql.policy_adapters``); the blocks stored are loaded at start and
synchronised at each reload (``sync``), so a restart keeps them and a block found, or cleared,
through another SIP node or the API reaches every node within one reload.

The defaults never flag an office pattern (a few calls a minute to mixed destinations, most
answered and long) and flag an auto-dialer (30 attempts a minute or more, 60 % or more of them
short or unanswered; or 10 sequential destinations).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nuage.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class AutoDialerThresholds:
    """Operator-tunable thresholds of the SIP-4 detector."""

    window_s: float = 60.0  # the sliding window the measures are taken over
    min_sample: int = 10  # attempts (and ended calls, for the share) before any verdict
    max_attempts_per_min: float = 30.0  # rate at or above which the call pattern is looked at
    short_call_s: int = 10  # an answered call billed under this many seconds is short
    short_or_unanswered_share: float = 0.6  # share of short or unanswered calls that flags
    sequential_run: int = 10  # this many sequential destinations flag, whatever the rate
    max_step: int = 10  # the largest increase between two sequential destinations

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.min_sample < 1 or self.sequential_run < 2 or self.max_step < 1:
            raise ValueError("auto-dialer thresholds out of range")
        if not 0 < self.short_or_unanswered_share <= 1:
            raise ValueError("short_or_unanswered_share must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose calls are measured: an account, or a trunk (``kind`` "account" or "trunk")."""

    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class AutoDialerBlock:
    """A subject blocked by SIP-4, kept until the operator clears it."""

    subject: Subject
    since: datetime
    reason: str
    account_id: str = ""  # the account of the subject (itself for an account)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A change of the blocks to write behind: a new block, or a subject cleared."""

    block: AutoDialerBlock | None
    subject: Subject


@dataclass(slots=True)
class _Call:
    call_id: str
    at: datetime
    dialled: str
    short_or_unanswered: bool | None = None  # None while in progress


@dataclass(slots=True)
class _History:
    calls: deque[_Call] = field(default_factory=deque)


class AutoDialerDetector:
    """Sliding-window detector of automatic calling machines, per account and per trunk."""

    def __init__(self, clock: Clock, thresholds: AutoDialerThresholds | None = None) -> None:
        self._clock = clock
        self.thresholds = thresholds or AutoDialerThresholds()
        self._histories: dict[Subject, _History] = {}
        self._blocks: dict[Subject, AutoDialerBlock] = {}
        self._open: dict[str, tuple[Subject, ...]] = {}  # call id -> subjects it was counted for
        self._account_of: dict[Subject, str] = {}
        self.journal: deque[JournalEntry] = deque(maxlen=100_000)  # drained by a storage adapter

    # -- feeding -------------------------------------------------------------------------------

    def attempt(
        self, call_id: str, dialled: str, subjects: tuple[Subject, ...], *, account_id: str | None = None
    ) -> None:
        """An outbound (non-emergency) call of ``account_id`` was let through for these subjects."""
        now = self._clock.now()
        for subject in subjects:
            self._histories.setdefault(subject, _History()).calls.append(_Call(call_id, now, dialled))
            owner = account_id if account_id is not None else subject.id if subject.kind == "account" else ""
            self._account_of[subject] = owner
        self._open[call_id] = subjects
        for subject in subjects:
            self._judge(subject, now)

    def ended(self, call_id: str, *, answered: bool, billable_seconds: int) -> None:
        """A call counted by ``attempt`` ended (others are ignored)."""
        subjects = self._open.pop(call_id, ())
        short_or_unanswered = not answered or billable_seconds < self.thresholds.short_call_s
        now = self._clock.now()
        for subject in subjects:
            history = self._histories.get(subject)
            if history is None:
                continue
            for call in history.calls:
                if call.call_id == call_id:
                    call.short_or_unanswered = short_or_unanswered
            self._judge(subject, now)

    # -- the operator's view ---------------------------------------------------------------------

    def blocked(self, subject: Subject) -> AutoDialerBlock | None:
        """The block on the subject, if any."""
        return self._blocks.get(subject)

    def blocks(self) -> list[AutoDialerBlock]:
        """Every current block, oldest first."""
        return sorted(self._blocks.values(), key=lambda b: b.since)

    def clear(self, subject: Subject) -> bool:
        """Lift the block (and forget the history that led to it); whether there was one."""
        self._histories.pop(subject, None)
        self.journal.append(JournalEntry(None, subject))
        return self._blocks.pop(subject, None) is not None

    # -- persistence -----------------------------------------------------------------------------

    def sync(self, stored: list[AutoDialerBlock]) -> None:
        """Align the blocks in memory with those stored, except changes still to be written.

        A stored block unknown here was found elsewhere (another node, a previous run): adopted.
        A block here that is not stored, and not waiting in the journal, was cleared elsewhere
        (the operator, through another node): dropped. The journal is drained by the adapter
        *before* it reads, so a change queued after that read is still in the journal.
        """
        pending = {entry.subject for entry in list(self.journal)}
        stored_by_subject = {block.subject: block for block in stored}
        for subject in [s for s in self._blocks if s not in stored_by_subject and s not in pending]:
            del self._blocks[subject]
            self._histories.pop(subject, None)
        for subject, block in stored_by_subject.items():
            if subject not in self._blocks and subject not in pending:
                self._blocks[subject] = block

    # -- measures --------------------------------------------------------------------------------

    def _judge(self, subject: Subject, now: datetime) -> None:
        history = self._histories[subject]
        limits = self.thresholds
        horizon = now - timedelta(seconds=limits.window_s)
        while history.calls and history.calls[0].at < horizon:
            history.calls.popleft()
        if subject in self._blocks:
            return
        calls = list(history.calls)
        if len(calls) < limits.min_sample:
            return
        crossed: list[str] = []
        rate = len(calls) * 60.0 / limits.window_s
        ended = [c for c in calls if c.short_or_unanswered is not None]
        if rate >= limits.max_attempts_per_min and len(ended) >= limits.min_sample:
            share = sum(1 for c in ended if c.short_or_unanswered) / len(ended)
            if share >= limits.short_or_unanswered_share:
                crossed.append(
                    f"{rate:.0f} attempts/min (>= {limits.max_attempts_per_min:g}) with "
                    f"{share:.0%} short (< {limits.short_call_s} s) or unanswered "
                    f"(>= {limits.short_or_unanswered_share:.0%})"
                )
        run = longest_sequential_run([c.dialled for c in calls], limits.max_step)
        if run >= limits.sequential_run:
            crossed.append(f"{run} sequential destinations (>= {limits.sequential_run})")
        if crossed:
            reason = "automatic calling detected: " + "; ".join(crossed)
            reason += f" over {limits.window_s:g} s at {now.isoformat(timespec='seconds')}"
            block = AutoDialerBlock(subject, now, reason, self._account_of.get(subject, ""))
            self._blocks[subject] = block
            self.journal.append(JournalEntry(block, subject))


def longest_sequential_run(dialled: list[str], max_step: int) -> int:
    """Longest run of consecutive numbers each larger than the one before by 1..max_step."""
    best = run = 0
    previous: str | None = None
    for number in dialled:
        digits = "".join(ch for ch in number if ch.isdigit())
        if previous is not None and digits and len(digits) == len(previous):
            step = int(digits) - int(previous)
            run = run + 1 if 0 < step <= max_step else 1
        else:
            run = 1 if digits else 0
        previous = digits or None
        best = max(best, run)
    return best
